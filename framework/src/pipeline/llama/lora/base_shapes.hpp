// The shapes of the base model's GGUF matrices, from its config.json alone: what a LoRA pair
// for that matrix must multiply out to. An adapter made for another base (or a --base that is
// not the adapter's) is refused instead of written into a file llama.cpp rejects.
#pragma once

#include <optional>
#include <string>

#include "pipeline/llama/hf_checkpoint/checkpoint.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow::pipeline::lora {

// The [out, in] shape of `gguf_name` (e.g. "blk.3.attn_qkv.weight") in llama.cpp's layout of
// `base`; nullopt when the table does not know the name or config.json lacks a width it needs.
// A layer the base does not have is an error naming the layer count.
Result<std::optional<Shape>> base_matrix_shape(const hf::Checkpoint& base, const std::string& gguf_name);

// Whether the base ties its output to the token embeddings (config.json's tie_word_embeddings,
// by default true for gpt2 as transformers has it): its GGUF then has no output.weight.
bool ties_output_to_embeddings(const hf::Checkpoint& base);

}  // namespace quantflow::pipeline::lora
