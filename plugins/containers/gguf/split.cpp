#include "split.hpp"

#include "gguf_plugin.hpp"

#include <filesystem>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gguf_types.hpp"

namespace quantflow::gguf {

namespace {

namespace fs = std::filesystem;

// The split keys of one file, checked for ggml's types (its getters abort on any other).
struct SplitKeys {
  bool present = false;
  uint64_t no = 0;
  uint64_t count = 0;
  int64_t tensors = 0;
  bool merged() const { return present && count == 0; }
};

Result<SplitKeys> split_keys_of(const Metadata& metadata) {
  SplitKeys keys;
  const MetaValue* no = metadata.find(kSplitNoKey);
  const MetaValue* count = metadata.find(kSplitCountKey);
  const MetaValue* tensors = metadata.find(kSplitTensorsKey);
  if (no == nullptr && count == nullptr && tensors == nullptr) return keys;
  const struct {
    const char* key;
    const MetaValue* value;
    MetaType type;
  } expected[] = {{kSplitNoKey, no, MetaType::u16},
                  {kSplitCountKey, count, MetaType::u16},
                  {kSplitTensorsKey, tensors, MetaType::i32}};
  for (const auto& e : expected) {
    if (e.value == nullptr)
      return bad_input(std::string("split key '") + e.key + "' is missing (the file has other split.* keys)");
    if (e.value->type != e.type)
      return bad_input(std::string("split key '") + e.key + "' must be a " + meta_type_name(e.type) + ", not " +
                       meta_type_name(e.value->type));
  }
  keys.present = true;
  keys.no = no->as_u64();
  keys.count = count->as_u64();
  keys.tensors = tensors->as_i64();
  // llama-gguf-split --merge leaves split.count = 0 in the merged file: llama.cpp reads such a
  // file as a whole model, and so do we (merged() below).
  if (keys.count > 0 && keys.no >= keys.count)
    return bad_input("split.no is " + std::to_string(keys.no) + ", but split.count is only " +
                     std::to_string(keys.count));
  if (keys.tensors < 0) return bad_input("split.tensors.count is negative (" + std::to_string(keys.tensors) + ")");
  return keys;
}

// llama_split_path: 1-based shard number and total, five digits each.
std::string shard_suffix(uint64_t number, uint64_t count) {
  auto five = [](uint64_t v) {
    std::string s = std::to_string(v);
    return std::string(s.size() < 5 ? 5 - s.size() : 0, '0') + s;
  };
  return "-" + five(number) + "-of-" + five(count) + ".gguf";
}

class SplitReader final : public Reader {
 public:
  std::string container() const override { return shards_.front()->container(); }
  std::string version() const override { return shards_.front()->version(); }
  const Metadata& metadata() const override { return metadata_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }

  Result<TensorData> read(size_t index) const override {
    if (index >= where_.size())
      return usage_error("tensor index " + std::to_string(index) + " is out of range (" +
                         std::to_string(where_.size()) + " tensors)");
    auto [shard, local] = where_[index];
    auto data = shards_[shard]->read(local);
    if (!data.ok()) return data.take_status().with_file(paths_[shard]);
    return data;
  }
  void release(size_t index) const override {
    if (index < where_.size()) shards_[where_[index].first]->release(where_[index].second);
  }

  std::vector<Property> properties() const override {
    auto out = shards_.front()->properties();
    out.push_back({"shards", MetaValue::make_u64(shards_.size())});
    std::vector<MetaValue> per_shard;
    for (const auto& shard : shards_) per_shard.push_back(MetaValue::make_u64(shard->tensors().size()));
    out.push_back({"shard_tensors", MetaValue::make_array(MetaType::u64, std::move(per_shard))});
    return out;
  }

  std::vector<std::unique_ptr<Reader>> shards_;
  std::vector<std::string> paths_;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  std::vector<std::pair<size_t, size_t>> where_;  // (shard, index in the shard) per tensor
};

}  // namespace

Result<std::unique_ptr<Reader>> open_split(std::unique_ptr<Reader> first, const std::string& path,
                                           const OpenFileFn& open_file) {
  QF_ASSIGN_OR_RETURN(SplitKeys keys, split_keys_of(first->metadata()));
  if (!keys.present || keys.merged()) return first;

  const std::string name = fs::path(path).filename().string();
  const std::string own_suffix = shard_suffix(keys.no + 1, keys.count);
  if (keys.no != 0) {
    const std::string prefix = name.ends_with(own_suffix) ? name.substr(0, name.size() - own_suffix.size()) : "PREFIX";
    return bad_input("this is shard " + std::to_string(keys.no + 1) + " of " + std::to_string(keys.count) +
                     " of a split model; give the first shard, " + prefix + shard_suffix(1, keys.count));
  }
  if (keys.count > 1 && !name.ends_with(own_suffix))
    return bad_input("first shard of a " + std::to_string(keys.count) +
                     "-file split model, but the name does not end in '" + own_suffix +
                     "', so the other shards cannot be found");

  auto reader = std::make_unique<SplitReader>();
  const std::string stem = path.substr(0, path.size() - own_suffix.size());
  std::unordered_map<std::string, size_t> shard_of_name;
  for (uint64_t s = 0; s < keys.count; ++s) {
    std::string shard_path = path;
    std::unique_ptr<Reader> shard;
    if (s == 0) {
      shard = std::move(first);
    } else {
      shard_path = stem + shard_suffix(s + 1, keys.count);
      std::error_code ec;
      if (!fs::is_regular_file(shard_path, ec))
        return bad_input("shard " + std::to_string(s + 1) + " of " + std::to_string(keys.count) +
                         " of the split model is missing")
            .with_file(shard_path);
      auto opened = open_file(shard_path);
      if (!opened.ok()) return opened.take_status().with_file(shard_path);
      shard = std::move(opened).value();
    }
    auto shard_keys = split_keys_of(shard->metadata());
    if (!shard_keys.ok()) return shard_keys.take_status().with_file(shard_path);
    if (!shard_keys->present)
      return bad_input("has no split.* keys, so it is not shard " + std::to_string(s + 1) + " of the split model")
          .with_file(shard_path);
    if (shard_keys->count != keys.count)
      return bad_input("split.count is " + std::to_string(shard_keys->count) + ", but the first shard says " +
                       std::to_string(keys.count))
          .with_file(shard_path);
    if (shard_keys->no != s)
      return bad_input("split.no is " + std::to_string(shard_keys->no) + ", but the file name says shard " +
                       std::to_string(s + 1) + " (split.no " + std::to_string(s) + ")")
          .with_file(shard_path);
    if (shard_keys->tensors != keys.tensors)
      return bad_input("split.tensors.count is " + std::to_string(shard_keys->tensors) + ", but the first shard says " +
                       std::to_string(keys.tensors))
          .with_file(shard_path);
    const auto& tensors = shard->tensors();
    for (size_t i = 0; i < tensors.size(); ++i) {
      const auto [it, added] = shard_of_name.emplace(tensors[i].name, s);
      if (!added)
        return bad_input("tensor name also used in " + reader->paths_[it->second])
            .with_tensor(tensors[i].name)
            .with_file(shard_path);
      reader->tensors_.push_back(tensors[i]);
      reader->where_.emplace_back(static_cast<size_t>(s), i);
    }
    reader->paths_.push_back(shard_path);
    reader->shards_.push_back(std::move(shard));
  }
  if (reader->tensors_.size() != static_cast<uint64_t>(keys.tensors))
    return bad_input("split.tensors.count is " + std::to_string(keys.tensors) + ", but the " +
                     std::to_string(keys.count) + " shards hold " + std::to_string(reader->tensors_.size()) +
                     " tensors")
        .with_file(path);

  // The split keys describe the files, not the model: a copy must not inherit them.
  for (const MetaEntry& e : reader->shards_.front()->metadata().entries())
    if (e.key != kSplitNoKey && e.key != kSplitCountKey && e.key != kSplitTensorsKey)
      reader->metadata_.append(e.key, e.value);
  return std::unique_ptr<Reader>(std::move(reader));
}

void tag_split_file(Metadata& metadata, uint32_t number, uint32_t count, uint64_t total_tensors) {
  metadata.set(kSplitNoKey, MetaValue::make_unsigned(MetaType::u16, number));
  metadata.set(kSplitTensorsKey, MetaValue::make_i32(static_cast<int32_t>(total_tensors)));
  metadata.set(kSplitCountKey, MetaValue::make_unsigned(MetaType::u16, count));
}

}  // namespace quantflow::gguf
