// A tokenizer as GGUF stores it (hf-to-gguf.md §4): the tokens by id with their types, and
// the scores (SentencePiece) or merges (BPE) the tokenizer model needs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace quantflow::pipeline::hf {

// llama.cpp's token types (tokenizer.ggml.token_type).
enum class TokenType : int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

struct Vocabulary {
  std::string model;  // tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (BPE)
  std::string pre;    // tokenizer.ggml.pre
  std::vector<std::string> tokens = {};
  std::vector<float> scores = {};  // SentencePiece only
  std::vector<TokenType> types = {};
  std::vector<std::string> merges = {};  // BPE only, "left right"

  // `size` slots holding "[PAD<i>]" of type unused (score -10000 when `with_scores`).
  void pad_to(size_t size, bool with_scores);
};

// An added token's type: control when marked special or when it looks special (<|...|>,
// <unused...>, <pad>, ...); else user-defined.
bool looks_special(std::string_view token);

// What an added token is written as: control tokens keep their text; in user-defined ones
// SentencePiece's U+2581 becomes a plain space.
void set_added_token(Vocabulary& vocabulary, size_t id, const std::string& content, bool special);

}  // namespace quantflow::pipeline::hf
