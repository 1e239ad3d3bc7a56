// Writes one safetensors file of an MLX folder: `__metadata__` {"format": "mlx"} (plus the
// model's other metadata by quantflow's safetensors conventions), each MLX-encoded tensor
// split into its stored parts, laid out consecutively in the order the tensors come.
#pragma once

#include <vector>

#include "quantflow/container.hpp"
#include "writing/stored_tensors.hpp"

namespace quantflow::model_folder {

class MlxWriter final : public Writer {
 public:
  MlxWriter(OutputSink& sink, const CodecCatalog& catalog) : sink_(sink), catalog_(catalog) {}

  Result<std::vector<size_t>> begin(const Metadata& metadata, const std::vector<TensorInfo>& tensors) override;
  Status write_tensor(size_t index, std::span<const std::byte> bytes) override;
  Status finish() override;

 private:
  OutputSink& sink_;
  const CodecCatalog& catalog_;
  std::vector<StoredModule> modules_;
  std::vector<uint64_t> sizes_;  // the logical tensors' byte counts
  size_t next_ = 0;
  bool begun_ = false;
};

}  // namespace quantflow::model_folder
