// The files of a model folder: config.json and the safetensors weights (one file, or shards
// with their index), located the way Hugging Face and mlx-lm lay them out.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "quantflow/container.hpp"

namespace quantflow::model_folder {

inline constexpr const char* kConfigFile = "config.json";
inline constexpr const char* kWeightsFile = "model.safetensors";
inline constexpr const char* kWeightsIndex = "model.safetensors.index.json";

// How sure we are that `folder` is a model folder: config.json beside safetensors weights is one;
// weights without config.json get a low score, so that opening it says what is missing instead
// of the folder being "not a model".
int32_t model_folder_score(const std::string& folder);

// config.json as a JSON object; errors name the file (and the line of a syntax error).
Result<nlohmann::json> load_config(const std::string& folder);

// The JSON text of `in`, read from `path`; a syntax error names the file.
Result<nlohmann::json> parse_json_file(std::istream& in, const std::string& path);

// The weights as one Reader: model.safetensors.index.json when present, else
// model.safetensors, else the folder's only *.safetensors file.
Result<std::unique_ptr<Reader>> open_weights(const std::string& folder, const CodecCatalog& catalog);

}  // namespace quantflow::model_folder
