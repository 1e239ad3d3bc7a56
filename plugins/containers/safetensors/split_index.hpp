// Sharded checkpoints: the `<model>.safetensors.index.json` that lists which file holds each
// tensor, as Hugging Face's save_pretrained writes it.
#pragma once

#include <string>
#include <vector>

#include "quantflow/container.hpp"

namespace quantflow::safetensors {

// {"metadata": {"total_size": N}, "weight_map": {tensor: file name}}, keys sorted, 2-space indent.
std::string split_index_text(const std::vector<SplitFile>& files, const CodecCatalog& catalog);

}  // namespace quantflow::safetensors
