// The storage types llama.cpp's converter forces whatever `--outtype` asks (hf-to-gguf.md
// §3.4), by GGUF tensor name and shape.
#pragma once

#include <string>
#include <string_view>

#include "quantflow/tensor.hpp"

namespace quantflow::pipeline::hf {

// Vectors, norms, the MoE router, position and token-type embeddings and anything that is not
// a `.weight` are written as f32.
bool converter_keeps_f32(const TensorInfo& tensor);

// The encoding `tensor` gets under a requested uniform encoding instead of it: "f32" for the
// above, "f16" for token_embd/output under tq1_0/tq2_0; empty when the request stands.
std::string fixed_encoding_name(const TensorInfo& tensor, std::string_view requested);

}  // namespace quantflow::pipeline::hf
