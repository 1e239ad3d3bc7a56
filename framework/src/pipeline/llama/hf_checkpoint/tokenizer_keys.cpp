#include "pipeline/llama/hf_checkpoint/tokenizer_keys.hpp"

#include <filesystem>

#include "pipeline/llama/hf_checkpoint/special_tokens.hpp"
#include "pipeline/llama/hf_checkpoint/tokenizer_bpe.hpp"
#include "pipeline/llama/hf_checkpoint/tokenizer_spm.hpp"

namespace quantflow::pipeline::hf {

namespace {

constexpr uint64_t kCodeLlamaVocab = 32016;  // CodeLlama's infill tokens sit at fixed ids
constexpr uint64_t kSmolLmVocab = 49152;     // SmolLM adds no BOS whatever its files say

MetaValue string_array(const std::vector<std::string>& texts) {
  std::vector<MetaValue> elements;
  elements.reserve(texts.size());
  for (const auto& t : texts) elements.push_back(MetaValue::make_string(t));
  return MetaValue::make_array(MetaType::string, std::move(elements));
}

void add_vocabulary(const Vocabulary& vocabulary, Metadata& metadata) {
  metadata.append("tokenizer.ggml.model", MetaValue::make_string(vocabulary.model));
  metadata.append("tokenizer.ggml.pre", MetaValue::make_string(vocabulary.pre));
  metadata.append("tokenizer.ggml.tokens", string_array(vocabulary.tokens));
  if (!vocabulary.scores.empty()) {
    std::vector<MetaValue> scores;
    scores.reserve(vocabulary.scores.size());
    for (float s : vocabulary.scores) scores.push_back(MetaValue::make_f32(s));
    metadata.append("tokenizer.ggml.scores", MetaValue::make_array(MetaType::f32, std::move(scores)));
  }
  std::vector<MetaValue> types;
  types.reserve(vocabulary.types.size());
  for (TokenType t : vocabulary.types) types.push_back(MetaValue::make_i32(static_cast<int32_t>(t)));
  metadata.append("tokenizer.ggml.token_type", MetaValue::make_array(MetaType::i32, std::move(types)));
  if (!vocabulary.merges.empty()) metadata.append("tokenizer.ggml.merges", string_array(vocabulary.merges));
}

void add_special_tokens(const SpecialTokens& special, Metadata& metadata) {
  for (const auto& [type, id] : special.ids)
    metadata.append("tokenizer.ggml." + type + "_token_id", MetaValue::make_u32(id));
  for (const auto& [type, value] : special.add_flags)
    metadata.append("tokenizer.ggml.add_" + type + "_token", MetaValue::make_bool(value));
  for (const auto& [name, text] : special.chat_templates)
    metadata.append(name.empty() ? "tokenizer.chat_template" : "tokenizer.chat_template." + name,
                    MetaValue::make_string(text));
}

// §4.3's extra llama rules, and tokenizer_config.json's add_prefix_space.
Status add_llama_extras(const Checkpoint& checkpoint, uint64_t vocab_size, Metadata& metadata) {
  if (vocab_size == kCodeLlamaVocab) {
    const std::pair<const char*, uint32_t> infill[] = {
        {"prefix", 32007}, {"suffix", 32008}, {"middle", 32009}, {"eot", 32010}};
    for (const auto& [type, id] : infill)
      metadata.append(std::string("tokenizer.ggml.") + type + "_token_id", MetaValue::make_u32(id));
  }
  QF_ASSIGN_OR_RETURN(const auto config, read_json_file(checkpoint.file("tokenizer_config.json")));
  if (config && config->is_object() && config->contains("add_prefix_space") &&
      (*config)["add_prefix_space"].is_boolean())
    metadata.append("tokenizer.ggml.add_space_prefix", MetaValue::make_bool((*config)["add_prefix_space"].get<bool>()));
  return {};
}

}  // namespace

Status add_tokenizer_keys(const Checkpoint& checkpoint, Metadata& metadata) {
  const bool sentencepiece =
      checkpoint.arch.architecture != "gpt2" && std::filesystem::exists(checkpoint.file("tokenizer.model"));
  if (!sentencepiece && !has_bpe_tokenizer(checkpoint))
    return bad_input(
               "no tokenizer (tokenizer.model, tokenizer.json, or vocab.json with merges.txt): a GGUF "
               "without one does not load")
        .with_file(checkpoint.folder.string());
  QF_ASSIGN_OR_RETURN(const Vocabulary vocabulary,
                      sentencepiece ? sentencepiece_vocabulary(checkpoint) : bpe_vocabulary(checkpoint));
  const uint64_t size = vocabulary.tokens.size();
  QF_ASSIGN_OR_RETURN(SpecialTokens special,
                      read_special_tokens(checkpoint, sentencepiece ? std::optional<uint64_t>(size) : std::nullopt));
  if (checkpoint.arch.architecture == "llama" && size == kSmolLmVocab) special.set_flag("bos", false);
  add_vocabulary(vocabulary, metadata);
  add_special_tokens(special, metadata);
  if (checkpoint.arch.architecture == "llama") QF_RETURN_IF_ERROR(add_llama_extras(checkpoint, size, metadata));
  return {};
}

}  // namespace quantflow::pipeline::hf
