#include "pipeline/llama/hf_checkpoint/checkpoint.hpp"

#include <fstream>

#include <fmt/format.h>

namespace quantflow::pipeline::hf {

namespace {

uint64_t count_of(const nlohmann::json& config, std::initializer_list<const char*> keys) {
  const nlohmann::json* value = first_present(config, keys);
  return value != nullptr && value->is_number_unsigned() ? value->get<uint64_t>() : 0;
}

std::string known_classes() {
  std::string out;
  for (const auto& c : hf_model_classes()) out += (out.empty() ? "" : ", ") + c;
  return out;
}

}  // namespace

Result<std::optional<nlohmann::json>> read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::optional<nlohmann::json>();
  try {
    return std::optional<nlohmann::json>(nlohmann::json::parse(in));
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's message ends with the byte offset; the line is what an editor shows.
    return bad_input(fmt::format("not valid JSON (byte {})", e.byte)).with_file(path);
  }
}

const nlohmann::json* first_present(const nlohmann::json& object, std::initializer_list<const char*> keys) {
  if (!object.is_object()) return nullptr;
  for (const char* key : keys) {
    const auto it = object.find(key);
    if (it != object.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

Result<std::optional<Checkpoint>> load_checkpoint(const std::string& folder) {
  Checkpoint checkpoint;
  checkpoint.folder = folder;
  const std::string config_path = checkpoint.file("config.json");
  QF_ASSIGN_OR_RETURN(auto config, read_json_file(config_path));
  if (!config || !config->is_object()) return std::optional<Checkpoint>();
  const auto classes = config->find("architectures");
  if (classes == config->end() || !classes->is_array() || classes->empty()) return std::optional<Checkpoint>();
  if (!(*classes)[0].is_string())
    return bad_input(fmt::format("'architectures' holds {}, not a class name", (*classes)[0].dump()))
        .with_file(config_path);
  checkpoint.hf_class = (*classes)[0].get<std::string>();
  checkpoint.config = std::move(*config);
  checkpoint.hparams = checkpoint.config;
  if (const auto text = checkpoint.config.find("text_config"); text != checkpoint.config.end() && text->is_object())
    checkpoint.hparams.update(*text);

  checkpoint.arch.architecture = gguf_architecture_of_class(checkpoint.hf_class);
  if (checkpoint.arch.architecture.empty())
    return unsupported(fmt::format("architectures is '{}', which quantflow does not convert to GGUF (it converts {})",
                                   checkpoint.hf_class, known_classes()))
        .with_file(config_path);
  const nlohmann::json& hp = checkpoint.hparams;
  checkpoint.arch.heads = count_of(hp, {"num_attention_heads", "n_head", "n_heads"});
  checkpoint.arch.kv_heads = count_of(hp, {"num_key_value_heads", "n_kv_heads"});
  if (checkpoint.arch.kv_heads == 0) checkpoint.arch.kv_heads = checkpoint.arch.heads;
  if (checkpoint.arch.heads == 0)
    return bad_input("no num_attention_heads (nor n_head, n_heads): the attention heads are needed for GGUF")
        .with_file(config_path);
  return std::optional<Checkpoint>(std::move(checkpoint));
}

}  // namespace quantflow::pipeline::hf
