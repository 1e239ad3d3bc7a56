// Built-in tensor name maps (`rename: {builtin: hf-to-gguf}`): Hugging Face checkpoint names
// to llama.cpp's GGUF names per architecture, with the data rewrites some tensors need.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/recipe/recipe_source.hpp"

namespace quantflow::pipeline {

// What a built-in map decides for one source tensor.
struct MappedName {
  enum class Outcome { renamed, dropped, unmapped };
  Outcome outcome = Outcome::unmapped;
  std::string name;
  SourceTransform transform;
};

struct ArchitectureParams {
  std::string architecture;  // "llama", "qwen2", "qwen3", "gpt2"
  uint64_t heads = 0;
  uint64_t kv_heads = 0;
};

// `rename: {builtin: none}`: no map, not even the one a Hugging Face checkpoint folder bound
// for GGUF gets by itself (llama/hf_checkpoint).
inline constexpr const char* kNoNameMap = "none";

// Names of the built-in maps, and of the architectures `hf-to-gguf` knows.
std::vector<std::string> builtin_name_maps();
std::vector<std::string> hf_architectures();
bool is_builtin_name_map(const std::string& name);

// The GGUF architecture ("llama", ...) of a Hugging Face model class such as
// "MistralForCausalLM", or empty when hf-to-gguf does not know the class; and every class it knows.
std::string gguf_architecture_of_class(std::string_view hf_class);
std::vector<std::string> hf_model_classes();

// The architecture and head counts: from the recipe when given, else from config.json in
// the directory of `input` (HF class names or model_type).
Result<ArchitectureParams> resolve_architecture(const RenameSpec& rename, const std::string& input);

MappedName map_hf_to_gguf(const std::string& hf_name, const ArchitectureParams& params);

}  // namespace quantflow::pipeline
