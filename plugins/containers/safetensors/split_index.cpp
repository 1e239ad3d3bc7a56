#include "split_index.hpp"

#include <filesystem>

#include <nlohmann/json.hpp>

namespace quantflow::safetensors {

std::string split_index_text(const std::vector<SplitFile>& files, const CodecCatalog&) {
  uint64_t total = 0;
  nlohmann::json weight_map = nlohmann::json::object();
  for (const auto& file : files)
    for (const auto& tensor : file.tensors) {
      total += tensor.n_bytes;
      weight_map[tensor.name] = std::filesystem::path(file.path).filename().string();
    }
  nlohmann::json index;
  index["metadata"] = {{"total_size", total}};
  index["weight_map"] = std::move(weight_map);
  return index.dump(2) + "\n";
}

}  // namespace quantflow::safetensors
