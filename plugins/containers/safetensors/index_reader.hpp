// Sharded checkpoints: `*.safetensors.index.json` presented as one Reader (spec §6).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "quantflow/container.hpp"
#include "reader.hpp"

namespace quantflow::safetensors {

class IndexReader final : public Reader {
 public:
  static Result<std::unique_ptr<IndexReader>> open(const std::string& path, const CodecCatalog& catalog);

  std::string container() const override { return kContainerName; }
  std::string version() const override { return ""; }
  const Metadata& metadata() const override { return shards_.front()->metadata(); }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  Result<TensorData> read(size_t index) const override;
  void release(size_t index) const override;
  std::vector<Property> properties() const override;

 private:
  IndexReader() = default;

  std::vector<std::unique_ptr<FileReader>> shards_;  // in order of first mention in weight_map
  std::vector<TensorInfo> tensors_;
  std::vector<std::pair<size_t, size_t>> where_;  // per tensor: shard, index within the shard
  std::string total_size_;
};

}  // namespace quantflow::safetensors
