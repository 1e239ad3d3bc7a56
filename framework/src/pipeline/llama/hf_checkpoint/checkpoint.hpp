// A Hugging Face checkpoint folder as llama.cpp's converter sees it: config.json, the GGUF
// architecture its `architectures` class maps to, and the other JSON files of the folder.
#pragma once

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/llama/name_map.hpp"
#include "quantflow/status.hpp"

namespace quantflow::pipeline::hf {

struct Checkpoint {
  std::filesystem::path folder;
  nlohmann::json config;    // config.json as written
  nlohmann::json hparams;   // config.json with its text_config merged over the root
  std::string hf_class;     // architectures[0], e.g. "LlamaForCausalLM"
  ArchitectureParams arch;  // the GGUF architecture and the head counts of the Q/K reorder
  std::string file(const char* name) const { return (folder / name).string(); }
};

// The checkpoint in `folder`, or nullopt when it is not one (no config.json naming
// `architectures`). A class hf-to-gguf does not convert is an error naming it.
Result<std::optional<Checkpoint>> load_checkpoint(const std::string& folder);

// A JSON file, or nullopt when it does not exist; a syntax error names the file and line.
Result<std::optional<nlohmann::json>> read_json_file(const std::string& path);

// The first of `keys` that `object` holds with a non-null value, or null.
const nlohmann::json* first_present(const nlohmann::json& object, std::initializer_list<const char*> keys);

}  // namespace quantflow::pipeline::hf
