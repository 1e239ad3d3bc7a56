// A model folder as one Reader: config.json plus the safetensors weights, with MLX's quantized
// modules folded into single tensors of the MLX codecs. config.json travels in the metadata
// (key hf.config, compact JSON) so that a folder written from it keeps the model's settings.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "quantflow/container.hpp"
#include "quantized_checkpoints/quantized_checkpoints.hpp"
#include "reading/mlx_modules.hpp"

namespace quantflow::model_folder {

inline constexpr const char* kContainerName = "mlx";
inline constexpr const char* kConfigKey = "hf.config";

class FolderReader final : public Reader {
 public:
  static Result<std::unique_ptr<FolderReader>> open(const std::string& folder, const CodecCatalog& catalog);

  std::string container() const override { return kContainerName; }
  std::string version() const override { return ""; }
  const Metadata& metadata() const override { return metadata_; }
  const std::vector<TensorInfo>& tensors() const override { return folded_.tensors; }
  Result<TensorData> read(size_t index) const override;
  void release(size_t index) const override;
  std::vector<Property> properties() const override;

 private:
  FolderReader() = default;

  std::unique_ptr<Reader> weights_;
  Metadata metadata_;
  FoldedTensors folded_;
  std::optional<QuantizationConfig> zero_point_;  // set for AutoAWQ and GPTQ checkpoints
};

}  // namespace quantflow::model_folder
