#include "pipeline/llama/hf_checkpoint/vocabulary.hpp"

namespace quantflow::pipeline::hf {

namespace {

constexpr std::string_view kSentencePieceSpace = "\xe2\x96\x81";  // U+2581

bool wrapped_in(std::string_view token, std::string_view open, std::string_view close) {
  return token.size() >= open.size() + close.size() && token.starts_with(open) && token.ends_with(close);
}

}  // namespace

void Vocabulary::pad_to(size_t size, bool with_scores) {
  tokens.clear();
  types.assign(size, TokenType::unused);
  scores.assign(with_scores ? size : 0, -10000.0f);
  tokens.reserve(size);
  for (size_t i = 0; i < size; ++i) tokens.push_back("[PAD" + std::to_string(i) + "]");
}

bool looks_special(std::string_view token) {
  constexpr std::string_view kExact[] = {"<pad>", "<mask>", "<2mass>", "[@BOS@]"};
  for (auto exact : kExact)
    if (token == exact) return true;
  return wrapped_in(token, "<|", "|>") || wrapped_in(token, "<\xef\xbd\x9c", "\xef\xbd\x9c>") ||  // fullwidth bars
         wrapped_in(token, "<unused", ">");
}

void set_added_token(Vocabulary& vocabulary, size_t id, const std::string& content, bool special) {
  if (special || looks_special(content)) {
    vocabulary.tokens[id] = content;
    vocabulary.types[id] = TokenType::control;
  } else {
    std::string text = content;
    for (size_t at = text.find(kSentencePieceSpace); at != std::string::npos;
         at = text.find(kSentencePieceSpace, at + 1))
      text.replace(at, kSentencePieceSpace.size(), " ");
    vocabulary.tokens[id] = std::move(text);
    vocabulary.types[id] = TokenType::user_defined;
  }
  if (!vocabulary.scores.empty()) vocabulary.scores[id] = -1000.0f;
}

}  // namespace quantflow::pipeline::hf
