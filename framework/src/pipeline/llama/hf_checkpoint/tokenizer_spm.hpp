// The SentencePiece path (hf-to-gguf.md §4.1): tokenizer.model, a protobuf ModelProto, read
// from its wire format, padded to config.json's vocab_size and completed with the folder's
// added tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pipeline/llama/hf_checkpoint/checkpoint.hpp"
#include "pipeline/llama/hf_checkpoint/vocabulary.hpp"

namespace quantflow::pipeline::hf {

// sentencepiece_model.proto's SentencePiece message: piece = 1, score = 2, type = 3.
struct SentencePiece {
  enum class Type : int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };
  std::string text;
  float score = 0.0f;
  Type type = Type::normal;  // the field's default
};

// The pieces of a ModelProto (its field 1); every other field is skipped. Errors say where
// the wire format breaks, without the file name.
Result<std::vector<SentencePiece>> parse_sentencepiece_model(std::span<const std::byte> bytes);

// tokenizer.model, then added_tokens.json, then tokenizer_config.json's added_tokens_decoder.
Result<Vocabulary> sentencepiece_vocabulary(const Checkpoint& checkpoint);

}  // namespace quantflow::pipeline::hf
