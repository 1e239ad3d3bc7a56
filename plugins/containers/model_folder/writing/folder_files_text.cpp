#include "writing/folder_files_text.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "folder/json_depth.hpp"
#include "mlx/quantization.hpp"
#include "reading/folder_reader.hpp"
#include "safetensors/json_text.hpp"
#include "writing/stored_tensors.hpp"

namespace quantflow::model_folder {

namespace {

// The parameters most modules use (the first seen wins a tie), so that the block lists few overrides.
MlxParams most_common(const std::vector<std::pair<std::string, MlxParams>>& modules) {
  std::vector<std::pair<MlxParams, size_t>> counts;
  for (const auto& entry : modules) {
    const MlxParams& params = entry.second;
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == params; });
    if (it == counts.end())
      counts.emplace_back(params, 1);
    else
      ++it->second;
  }
  auto best = counts.begin();
  for (auto it = counts.begin(); it != counts.end(); ++it)
    if (it->second > best->second) best = it;
  return best->first;
}

}  // namespace

Result<std::string> config_json_text(const Metadata& metadata, const std::vector<TensorInfo>& tensors,
                                     const CodecCatalog& catalog) {
  nlohmann::json config = nlohmann::json::object();
  if (const MetaValue* text = metadata.find(kConfigKey); text != nullptr && text->type == MetaType::string) {
    try {
      config = nlohmann::json::parse(text->text);
    } catch (const nlohmann::json::exception& e) {
      return bad_input(std::string("metadata key hf.config is not valid JSON: ") +
                       safetensors::json_error_text(e.what()));
    }
    if (!config.is_object()) return bad_input("metadata key hf.config must hold a JSON object");
    if (nests_deeper_than(config, kMaxJsonDepth))
      return bad_input(fmt::format("metadata key hf.config nests deeper than {} levels", kMaxJsonDepth));
  }
  config.erase("quantization");
  config.erase("quantization_config");
  std::vector<std::pair<std::string, MlxParams>> modules;
  for (const auto& tensor : tensors) {
    QF_ASSIGN_OR_RETURN(auto module, stored_module(tensor, catalog));
    if (module.params) modules.emplace_back(module.module, *module.params);
  }
  if (!modules.empty()) {
    MlxQuantization quantization{.defaults = most_common(modules), .modules = {}};
    for (const auto& [module, params] : modules)
      if (!(params == quantization.defaults)) quantization.modules.emplace(module, params);
    const nlohmann::json block = quantization_json(quantization);
    config["quantization"] = block;
    config["quantization_config"] = block;
  }
  return config.dump(4) + "\n";
}

std::string weights_index_text(const std::vector<SplitFile>& files, const CodecCatalog& catalog) {
  uint64_t total = 0;
  nlohmann::json weight_map = nlohmann::json::object();
  for (const auto& file : files)
    for (const auto& tensor : file.tensors) {
      const auto module = stored_module(tensor, catalog);
      if (!module.ok()) continue;  // the writer refused it already
      for (const auto& part : module->parts) {
        total += part.n_bytes;
        weight_map[part.name] = std::filesystem::path(file.path).filename().string();
      }
    }
  nlohmann::json index;
  index["metadata"] = {{"total_size", total}};
  index["weight_map"] = std::move(weight_map);
  return index.dump(4) + "\n";
}

}  // namespace quantflow::model_folder
