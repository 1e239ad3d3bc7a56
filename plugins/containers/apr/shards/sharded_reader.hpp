// One Reader over the shards of a sharded model: tensors in shard order, the first shard's
// metadata without the split keys (shards.hpp).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "quantflow/container.hpp"
#include "reading/reader.hpp"

namespace quantflow::apr {

class ShardedReader final : public Reader {
 public:
  // Adds the next shard; refuses a tensor name an earlier shard holds.
  Status add(std::unique_ptr<FileReader> shard);
  // Call after the last add(): takes the first shard's metadata without the split keys.
  void finish();

  std::string container() const override { return kContainerName; }
  std::string version() const override { return shards_.front()->version(); }
  const Metadata& metadata() const override { return metadata_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  Result<TensorData> read(size_t index) const override;
  void release(size_t index) const override;
  std::vector<Property> properties() const override;

  size_t shard_count() const { return shards_.size(); }

 private:
  std::vector<std::unique_ptr<FileReader>> shards_;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  std::vector<std::pair<size_t, size_t>> where_;  // (shard, index in the shard) per tensor
  std::unordered_map<std::string, size_t> shard_of_name_;
};

// The split keys of one file's metadata.
struct ShardKeys {
  bool present = false;
  uint64_t count = 0;
  uint64_t index = 0;
};
Result<ShardKeys> shard_keys_of(const Metadata& metadata);

}  // namespace quantflow::apr
