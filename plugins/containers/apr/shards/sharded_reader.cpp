#include "shards/sharded_reader.hpp"

#include <unordered_map>

namespace quantflow::apr {

namespace {

constexpr const char* kCountKey = "apr.sharding.shard_count";
constexpr const char* kIndexKey = "apr.sharding.shard_index";
constexpr std::string_view kSplitKeyPrefix = "apr.sharding.";

}  // namespace

Result<ShardKeys> shard_keys_of(const Metadata& metadata) {
  const MetaValue* count = metadata.find(kCountKey);
  const MetaValue* index = metadata.find(kIndexKey);
  ShardKeys keys;
  if (count == nullptr && index == nullptr) return keys;
  if (count == nullptr || !count->is_integer()) return bad_input("sharding.shard_count is missing");
  if (index == nullptr || !index->is_integer()) return bad_input("sharding.shard_index is missing");
  keys.present = true;
  keys.count = count->as_u64();
  keys.index = index->as_u64();
  if (keys.count == 0) return bad_input("sharding.shard_count is 0");
  if (keys.index >= keys.count)
    return bad_input("sharding.shard_index is " + std::to_string(keys.index) + ", but shard_count is only " +
                     std::to_string(keys.count));
  return keys;
}

Status ShardedReader::add(std::unique_ptr<FileReader> shard) {
  const size_t s = shards_.size();
  const auto& tensors = shard->tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto [it, added] = shard_of_name_.emplace(tensors[i].name, s);
    if (!added)
      return bad_input("tensor name also used in " + shards_[it->second]->path())
          .with_tensor(tensors[i].name)
          .with_file(shard->path());
    tensors_.push_back(tensors[i]);
    where_.emplace_back(s, i);
  }
  shards_.push_back(std::move(shard));
  return {};
}

void ShardedReader::finish() {
  // The split keys describe the files, not the model: a copy must not inherit them.
  for (const MetaEntry& e : shards_.front()->metadata().entries())
    if (!e.key.starts_with(kSplitKeyPrefix)) metadata_.append(e.key, e.value);
}

Result<TensorData> ShardedReader::read(size_t index) const {
  if (index >= where_.size()) return internal_error("tensor index " + std::to_string(index) + " out of range");
  return shards_[where_[index].first]->read(where_[index].second);
}

void ShardedReader::release(size_t index) const {
  if (index < where_.size()) shards_[where_[index].first]->release(where_[index].second);
}

std::vector<Property> ShardedReader::properties() const {
  auto out = shards_.front()->properties();
  out.push_back({"shards", MetaValue::make_u64(shards_.size())});
  std::vector<MetaValue> per_shard;
  for (const auto& shard : shards_) per_shard.push_back(MetaValue::make_u64(shard->tensors().size()));
  out.push_back({"shard_tensors", MetaValue::make_array(MetaType::u64, std::move(per_shard))});
  return out;
}

}  // namespace quantflow::apr
