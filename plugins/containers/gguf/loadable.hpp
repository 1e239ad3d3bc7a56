// GGUF files exist to be loaded by llama.cpp and its kin. Some inputs convert into a GGUF file
// that is well-formed but that no consumer can load: a Hugging Face checkpoint under its own
// tensor names with no general.architecture, or a LoRA adapter. The writer refuses those and
// says which path does work, instead of exiting 0 with a file nobody can use.
#pragma once

#include <vector>

#include "quantflow/metadata.hpp"
#include "quantflow/status.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow::gguf {

// The writer option that turns the check off, for users who know what they are writing.
inline constexpr const char* kAllowUnloadableOption = "allow_unloadable";

Status check_loadable(const Metadata& metadata, const std::vector<TensorInfo>& tensors);

}  // namespace quantflow::gguf
