#include "shards/shards.hpp"

#include <filesystem>

#include "shards/shard_names.hpp"
#include "shards/sharded_reader.hpp"

namespace quantflow::apr {

namespace {

namespace fs = std::filesystem;

std::string shard_text(uint64_t number, uint64_t count) {
  return "shard " + std::to_string(number) + " of " + std::to_string(count);
}

// The pattern naming this model's shards: the file's own (when it names this file as shard
// 1), else one derived from the file name.
Result<std::string> shard_pattern(const Metadata& metadata, const std::string& name, uint64_t count) {
  if (const MetaValue* p = metadata.find("apr.sharding.pattern"); p != nullptr && p->type == MetaType::string)
    if (const auto first = format_pattern(p->text, 1, count); first && *first == name) return p->text;
  std::string derived = pattern_for(name);
  if (!derived.empty())
    if (const auto first = format_pattern(derived, 1, count); first && *first == name) return derived;
  return bad_input("first shard of a " + std::to_string(count) + "-file sharded APR model, but neither its name nor " +
                   "its sharding.pattern names the other shards (expected a name ending in -00001-of-" +
                   std::to_string(count) + ", zero-padded to 5 digits)");
}

Result<std::unique_ptr<Reader>> open_from_first_shard(std::unique_ptr<FileReader> first, const CodecCatalog& catalog) {
  const std::string path = first->path();
  QF_ASSIGN_OR_RETURN(const ShardKeys keys, shard_keys_of(first->metadata()));
  if (!keys.present) return std::unique_ptr<Reader>(std::move(first));
  auto sharded = std::make_unique<ShardedReader>();
  if (keys.count == 1) {  // a "sharded" model of one file: only the split keys to drop
    QF_RETURN_IF_ERROR(sharded->add(std::move(first)));
    sharded->finish();
    return std::unique_ptr<Reader>(std::move(sharded));
  }
  const std::string name = fs::path(path).filename().string();
  if (keys.index != 0) {
    std::string first_name = "the first shard";
    if (const MetaValue* p = first->metadata().find("apr.sharding.pattern"); p && p->type == MetaType::string)
      if (const auto n = format_pattern(p->text, 1, keys.count)) first_name = *n;
    return bad_input("this is " + shard_text(keys.index + 1, keys.count) + " of a sharded APR model; give " +
                     first_name + " (or the manifest)");
  }
  QF_ASSIGN_OR_RETURN(const std::string pattern, shard_pattern(first->metadata(), name, keys.count));
  const fs::path dir = fs::path(path).parent_path();
  QF_RETURN_IF_ERROR(sharded->add(std::move(first)));
  for (uint64_t s = 1; s < keys.count; ++s) {
    const std::string shard_path = (dir / *format_pattern(pattern, s + 1, keys.count)).string();
    std::error_code ec;
    if (!fs::is_regular_file(shard_path, ec))
      return bad_input(shard_text(s + 1, keys.count) + " of the sharded model is missing").with_file(shard_path);
    QF_ASSIGN_OR_RETURN(auto shard, FileReader::open(shard_path, catalog));
    auto shard_keys = shard_keys_of(shard->metadata());
    if (!shard_keys.ok()) return shard_keys.take_status().with_file(shard_path);
    if (!shard_keys->present)
      return bad_input("has no sharding metadata, so it is not " + shard_text(s + 1, keys.count) + " of the model")
          .with_file(shard_path);
    if (shard_keys->count != keys.count)
      return bad_input("sharding.shard_count is " + std::to_string(shard_keys->count) + ", but the first shard says " +
                       std::to_string(keys.count))
          .with_file(shard_path);
    if (shard_keys->index != s)
      return bad_input("sharding.shard_index is " + std::to_string(shard_keys->index) + ", but the file name says " +
                       shard_text(s + 1, keys.count) + " (shard_index " + std::to_string(s) + ")")
          .with_file(shard_path);
    QF_RETURN_IF_ERROR(sharded->add(std::move(shard)));
  }
  sharded->finish();
  return std::unique_ptr<Reader>(std::move(sharded));
}

}  // namespace

Result<std::unique_ptr<Reader>> open_model(const std::string& path, const CodecCatalog& catalog) {
  QF_ASSIGN_OR_RETURN(auto file, catalog.open_input(path));
  const auto head = file->head();
  if (looks_like_manifest(reinterpret_cast<const unsigned char*>(head.data()), head.size()))
    return open_manifest(std::move(file), catalog);
  QF_ASSIGN_OR_RETURN(auto first, FileReader::open(std::move(file), catalog));
  return open_from_first_shard(std::move(first), catalog);
}

void tag_split_file(Metadata& metadata, uint32_t number, uint32_t count, uint64_t /*total_tensors*/) {
  metadata.set("apr.sharding.shard_count", MetaValue::make_u32(count));
  metadata.set("apr.sharding.shard_index", MetaValue::make_u32(number));
  // The model's byte total is not known to a single file's writer; the manifest has it.
  metadata.set("apr.sharding.total_size", MetaValue::make_u64(0));
}

}  // namespace quantflow::apr
