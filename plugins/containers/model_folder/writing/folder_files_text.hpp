// The text files beside an MLX folder's weights: config.json (the model's own config with
// mlx-lm's quantization block for what was written) and model.safetensors.index.json.
#pragma once

#include <string>
#include <vector>

#include "quantflow/container.hpp"

namespace quantflow::model_folder {

// config.json: the input's config (metadata key hf.config) or an empty object, with
// `quantization` and `quantization_config` describing the MLX-encoded tensors: the most
// common parameters as defaults, every module that differs as an override (mlx-quant.md §4).
Result<std::string> config_json_text(const Metadata& metadata, const std::vector<TensorInfo>& tensors,
                                     const CodecCatalog& catalog);

// The index of split weights, naming every stored tensor (codes, scales and biases apart).
std::string weights_index_text(const std::vector<SplitFile>& files, const CodecCatalog& catalog);

}  // namespace quantflow::model_folder
