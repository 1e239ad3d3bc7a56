#include "pipeline/llama/hf_checkpoint/tokenizer_bpe.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

namespace quantflow::pipeline::hf {

namespace {

struct AddedToken {
  std::string content;
  bool special = false;
};

// What the tokenizer files hold before they are laid out by id.
struct BpeSource {
  std::string path;                            // the file errors name
  std::map<uint64_t, std::string> vocab = {};  // id -> byte-level token text
  std::map<uint64_t, AddedToken> added = {};   // id -> added token
  std::vector<std::string> merges = {};
};

// A pair of the newer tokenizer.json merges format: spaces inside a part become U+0120 so
// that the joined "left right" string stays splittable.
std::string join_pair(const nlohmann::json& pair) {
  std::string out;
  for (size_t part = 0; part < 2; ++part) {
    if (part == 1) out += ' ';
    for (char c : pair[part].get<std::string>()) out += c == ' ' ? std::string("\xc4\xa0") : std::string(1, c);
  }
  return out;
}

Status read_merges(const nlohmann::json& merges, const std::string& path, std::vector<std::string>& out) {
  for (const auto& merge : merges) {
    if (merge.is_string())
      out.push_back(merge.get<std::string>());
    else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string())
      out.push_back(join_pair(merge));
    else
      return bad_input(fmt::format("merge {} is neither \"left right\" nor a pair", merge.dump())).with_file(path);
  }
  return {};
}

Status read_vocab(const nlohmann::json& vocab, const std::string& path, std::map<uint64_t, std::string>& out) {
  if (!vocab.is_object()) return bad_input("the vocabulary is not a map from token to id").with_file(path);
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_unsigned())
      return bad_input(fmt::format("token '{}' has id {}", token, id.dump())).with_file(path);
    out.emplace(id.get<uint64_t>(), token);
  }
  return {};
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open").with_file(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<BpeSource> read_fast_tokenizer(const Checkpoint& checkpoint, const nlohmann::json& tokenizer) {
  BpeSource source{.path = checkpoint.file("tokenizer.json")};
  const nlohmann::json* model = first_present(tokenizer, {"model"});
  const std::string type = model != nullptr && model->is_object() ? model->value("type", std::string()) : "";
  if (type != "BPE")
    return unsupported(fmt::format("a '{}' tokenizer model; quantflow converts BPE tokenizers, and SentencePiece "
                                   "ones from tokenizer.model",
                                   type))
        .with_file(source.path);
  if (model->value("byte_fallback", false))
    return unsupported("a SentencePiece-style BPE (byte_fallback); quantflow needs the folder's tokenizer.model for it")
        .with_file(source.path);
  QF_RETURN_IF_ERROR(read_vocab(model->value("vocab", nlohmann::json::object()), source.path, source.vocab));
  if (const nlohmann::json* merges = first_present(*model, {"merges"}); merges != nullptr && merges->is_array())
    QF_RETURN_IF_ERROR(read_merges(*merges, source.path, source.merges));
  for (const auto& added : tokenizer.value("added_tokens", nlohmann::json::array())) {
    if (!added.is_object() || !added.contains("id") || !added["id"].is_number_unsigned() ||
        !added.contains("content") || !added["content"].is_string())
      return bad_input(fmt::format("added token {} has no id and content", added.dump())).with_file(source.path);
    source.added[added["id"].get<uint64_t>()] = {added["content"].get<std::string>(), added.value("special", false)};
  }
  return source;
}

// A slow tokenizer's added tokens live in tokenizer_config.json's added_tokens_decoder.
Status read_slow_added_tokens(const Checkpoint& checkpoint, BpeSource& source) {
  const std::string path = checkpoint.file("tokenizer_config.json");
  QF_ASSIGN_OR_RETURN(const auto config, read_json_file(path));
  if (!config || !config->contains("added_tokens_decoder")) return {};
  for (const auto& [key, entry] : (*config)["added_tokens_decoder"].items()) {
    uint64_t id = 0;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (ec != std::errc() || end != key.data() + key.size() || !entry.is_object() || !entry.contains("content") ||
        !entry["content"].is_string())
      return bad_input(fmt::format("added_tokens_decoder entry '{}' is not an id with a content", key)).with_file(path);
    source.added[id] = {entry["content"].get<std::string>(), entry.value("special", false)};
  }
  return {};
}

Result<BpeSource> read_slow_tokenizer(const Checkpoint& checkpoint) {
  BpeSource source{.path = checkpoint.file("vocab.json")};
  QF_ASSIGN_OR_RETURN(const auto vocab, read_json_file(source.path));
  if (!vocab) return bad_input("no tokenizer: neither tokenizer.json nor vocab.json").with_file(source.path);
  QF_RETURN_IF_ERROR(read_vocab(*vocab, source.path, source.vocab));
  QF_RETURN_IF_ERROR(read_slow_added_tokens(checkpoint, source));
  return source;
}

}  // namespace

bool has_bpe_tokenizer(const Checkpoint& checkpoint) {
  return std::filesystem::exists(checkpoint.file("tokenizer.json")) ||
         std::filesystem::exists(checkpoint.file("vocab.json"));
}

std::vector<std::string> parse_merges_txt(const std::string& text) {
  std::vector<std::string> merges;
  std::istringstream lines(text);
  std::string line;
  for (bool first = true; std::getline(lines, line); first = false) {
    if (first && line.starts_with("#")) continue;
    std::istringstream words(line);
    std::string left, right, extra;
    if (words >> left >> right && !(words >> extra)) merges.push_back(left + " " + right);
  }
  return merges;
}

std::string pre_tokenizer_of(const Checkpoint& checkpoint, size_t vocab_size) {
  const std::string& arch = checkpoint.arch.architecture;
  if (arch == "gpt2") return "gpt-2";
  if (arch == "qwen2" || arch == "qwen3") {
    std::string origin = checkpoint.config.value("_name_or_path", std::string());
    std::transform(origin.begin(), origin.end(), origin.begin(), [](unsigned char c) { return std::tolower(c); });
    return origin.find("deepseek-r1-distill-qwen") != std::string::npos ? "deepseek-r1-qwen" : "qwen2";
  }
  if (checkpoint.hf_class == "MistralForCausalLM" && vocab_size == 131072) return "tekken";
  if (vocab_size == 128256) return "llama-bpe";
  if (vocab_size == 49152) return "smollm";
  return "";
}

Result<Vocabulary> bpe_vocabulary(const Checkpoint& checkpoint) {
  QF_ASSIGN_OR_RETURN(const auto fast, read_json_file(checkpoint.file("tokenizer.json")));
  BpeSource source;
  if (fast) {
    QF_ASSIGN_OR_RETURN(source, read_fast_tokenizer(checkpoint, *fast));
  } else {
    QF_ASSIGN_OR_RETURN(source, read_slow_tokenizer(checkpoint));
  }
  if (source.merges.empty()) {
    const std::string path = checkpoint.file("merges.txt");
    if (!std::filesystem::exists(path))
      return bad_input("no merges, and no merges.txt beside it").with_file(source.path);
    QF_ASSIGN_OR_RETURN(const std::string text, read_text(path));
    source.merges = parse_merges_txt(text);
  }
  if (source.vocab.empty()) return bad_input("the vocabulary is empty").with_file(source.path);
  uint64_t largest = source.vocab.rbegin()->first;
  if (!source.added.empty()) largest = std::max(largest, source.added.rbegin()->first);
  const nlohmann::json* declared = first_present(checkpoint.hparams, {"vocab_size"});
  const uint64_t size = declared != nullptr && declared->is_number_unsigned() ? declared->get<uint64_t>() : largest + 1;
  if (largest >= size)
    return bad_input(fmt::format("token id {} is not below config.json's vocab_size {}", largest, size))
        .with_file(source.path);

  Vocabulary vocabulary{.model = "gpt2", .pre = pre_tokenizer_of(checkpoint, size)};
  if (vocabulary.pre.empty())
    return unsupported(fmt::format("cannot tell which pre-tokenizer (tokenizer.ggml.pre) this {} BPE tokenizer of "
                                   "{} tokens uses; quantflow knows those of GPT-2, Qwen2/Qwen3, Llama 3 (128256), "
                                   "SmolLM (49152) and Mistral's tekken (131072)",
                                   checkpoint.hf_class, size))
        .with_file(source.path);
  vocabulary.pad_to(size, false);
  for (const auto& [id, token] : source.vocab) {
    vocabulary.tokens[id] = token;
    vocabulary.types[id] = TokenType::normal;
  }
  for (const auto& [id, token] : source.added) set_added_token(vocabulary, id, token.content, token.special);
  vocabulary.merges = std::move(source.merges);
  return vocabulary;
}

}  // namespace quantflow::pipeline::hf
