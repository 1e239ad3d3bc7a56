// The general.* and architecture keys llama.cpp's converter writes, all read from config.json
// (hf-to-gguf.md §3.1-3.2), in the converter's order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/llama/hf_checkpoint/checkpoint.hpp"
#include "quantflow/metadata.hpp"

namespace quantflow::pipeline::hf {

// What the keys say about the tensors rather than the configuration.
struct TensorFacts {
  uint64_t parameters = 0;            // elements of every checkpoint tensor written
  uint64_t expert_count = 0;          // experts of the stacked (`_exps.`) tensors; 0: dense
  uint64_t expert_parameters = 0;     // elements of one expert of every stacked tensor
  std::optional<uint32_t> file_type;  // general.file_type; nullopt: not written
};

// general.architecture ... general.quantization_version, appended to `metadata`. A missing
// key the loader cannot do without (block count, width, heads) is an error naming config.json.
Status add_model_keys(const Checkpoint& checkpoint, const TensorFacts& facts, Metadata& metadata);

// head_dim, else hidden_size / heads: the rotary dimension.
Result<uint64_t> rope_dimension(const Checkpoint& checkpoint);

// "513K", "1.5B", "8.0B": the parameter count as the converter labels it.
std::string size_label(uint64_t parameters);
// "8x7.2B": a mixture of experts is labelled by its expert count and the parameters one token
// path holds (the shared tensors and one expert of each stack).
std::string size_label(const TensorFacts& facts);

// The converter's model name from a folder name: "llama-2-tiny-random" -> "Llama 2 Tiny Random".
std::string title_from_folder_name(const std::string& name);

}  // namespace quantflow::pipeline::hf
