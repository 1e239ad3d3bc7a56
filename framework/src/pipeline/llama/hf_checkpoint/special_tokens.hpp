// Special token ids, add-BOS/EOS flags and the chat template (hf-to-gguf.md §4.3), from
// tokenizer.json's post-processor, tokenizer_config.json (or chat_template.jinja /
// chat_template.json) and config.json, in that order: the first source to set an id wins.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/llama/hf_checkpoint/checkpoint.hpp"

namespace quantflow::pipeline::hf {

struct SpecialTokens {
  // In the order they were first set, as the converter writes them.
  std::vector<std::pair<std::string, uint32_t>> ids;    // "bos" -> tokenizer.ggml.bos_token_id
  std::vector<std::pair<std::string, bool>> add_flags;  // "bos" -> tokenizer.ggml.add_bos_token
  // "" -> tokenizer.chat_template, "NAME" -> tokenizer.chat_template.NAME
  std::vector<std::pair<std::string, std::string>> chat_templates;

  void set_flag(const std::string& type, bool value);
};

// `vocab_limit`: ids at or above it are refused (the SentencePiece path passes its size).
Result<SpecialTokens> read_special_tokens(const Checkpoint& checkpoint, std::optional<uint64_t> vocab_limit);

}  // namespace quantflow::pipeline::hf
