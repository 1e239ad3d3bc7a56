// Model folders (the "mlx" container: config.json + model.safetensors, MLX modules folded,
// AutoAWQ / GPTQ layers unpacked). The input is config.json's text, a NUL byte, then the
// safetensors file (no NUL: a folder without weights). Both are written to a scratch folder,
// opened with the folder reader, and every tensor is read.
#include <cstring>
#include <filesystem>
#include <string>

#include "reading/folder_reader.hpp"
#include "support.hpp"
#include "targets.hpp"

namespace qf_fuzz {

quantflow::Status fuzz_model_folder(const uint8_t* data, size_t size) {
  static const std::string folder = [] {
    const std::string dir = scratch_dir() + "/model_folder";
    std::filesystem::create_directories(dir);
    return dir;
  }();
  const auto* nul = size == 0 ? nullptr : static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t config_size = nul == nullptr ? size : static_cast<size_t>(nul - data);
  scratch_file("model_folder/config.json", data, config_size);
  if (nul != nullptr) {
    scratch_file("model_folder/model.safetensors", nul + 1, size - config_size - 1);
  } else {
    std::error_code ec;
    std::filesystem::remove(folder + "/model.safetensors", ec);
  }
  auto reader = quantflow::model_folder::FolderReader::open(folder, catalog());
  if (!reader.ok()) return reader.take_status();
  check_reader(**reader);
  return {};
}

}  // namespace qf_fuzz
