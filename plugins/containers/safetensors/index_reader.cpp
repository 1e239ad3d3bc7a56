#include "index_reader.hpp"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "json_text.hpp"

namespace quantflow::safetensors {

namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

// A weight_map may only name files beside the index: a shared checkpoint must not be able
// to make us open arbitrary paths.
bool is_plain_relative(const std::string& name) {
  const fs::path p(name);
  if (name.empty() || p.is_absolute()) return false;
  for (const auto& part : p)
    if (part == "..") return false;
  return true;
}

std::string join(const std::vector<std::string>& names, size_t limit = 5) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

}  // namespace

Result<std::unique_ptr<IndexReader>> IndexReader::open(const std::string& path, const CodecCatalog& catalog) {
  QF_ASSIGN_OR_RETURN(auto file, catalog.open_input(path));
  const auto fail = [&](std::string message) { return bad_input(std::move(message)).with_file(path); };
  // An index is small JSON; refuse anything the size of real weights before parsing it.
  if (file->size() > 256u << 20) return fail("index file is " + std::to_string(file->size()) + " bytes, too large");
  if (file->head().size() < file->size())
    return fail("index file is larger than the part of a compressed input decoded for headers");
  const std::string_view text(reinterpret_cast<const char*>(file->data()), file->head().size());

  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const std::exception& e) {
    return fail("index is not valid JSON: " + json_error_text(e.what()));
  }
  if (!root.is_object()) return fail("index is not a JSON object");
  auto r = std::unique_ptr<IndexReader>(new IndexReader());

  if (const auto meta = root.find("metadata"); meta != root.end() && !meta->is_null()) {
    if (!meta->is_object()) return fail("index 'metadata' is not an object");
    if (const auto total = meta->find("total_size"); total != meta->end()) {
      // Most writers emit a number, a few a string of digits; both mean the same.
      if (total->is_number_unsigned()) {
        r->total_size_ = std::to_string(total->get<uint64_t>());
      } else if (total->is_string() && !total->get_ref<const std::string&>().empty() &&
                 total->get_ref<const std::string&>().find_first_not_of("0123456789") == std::string::npos) {
        r->total_size_ = total->get<std::string>();
      } else {
        return fail("index 'metadata.total_size' is neither a non-negative integer nor a string of digits");
      }
    }
  }
  const auto map = root.find("weight_map");
  if (map == root.end()) return fail("index has no 'weight_map'");
  if (!map->is_object()) return fail("index 'weight_map' is not an object");

  // Shards in order of first mention; names in weight_map order per shard.
  std::vector<std::string> shard_names;
  std::map<std::string, size_t> shard_of_name;
  std::vector<std::pair<std::string, size_t>> mapped;  // tensor name -> shard
  std::unordered_map<std::string, size_t> mapped_shard;
  for (const auto& [tensor, shard] : map->items()) {
    if (!shard.is_string()) return bad_input("weight_map value is not a file name").with_tensor(tensor).with_file(path);
    const auto& name = shard.get_ref<const std::string&>();
    if (!is_plain_relative(name))
      return bad_input("weight_map names '" + name + "', which is not a file beside the index")
          .with_tensor(tensor)
          .with_file(path);
    auto [it, added] = shard_of_name.emplace(name, shard_names.size());
    if (added) shard_names.push_back(name);
    mapped.emplace_back(tensor, it->second);
    mapped_shard.emplace(tensor, it->second);
  }
  if (shard_names.empty()) return fail("index 'weight_map' is empty");

  const fs::path dir = fs::path(path).parent_path();
  std::vector<std::string> missing;
  for (const auto& name : shard_names) {
    std::error_code ec;
    if (!fs::is_regular_file(dir / name, ec)) missing.push_back(name);
  }
  if (!missing.empty())
    return fail("weight_map names " + std::to_string(missing.size()) +
                " shard file(s) that do not exist: " + join(missing));

  for (const auto& name : shard_names) {
    QF_ASSIGN_OR_RETURN(auto shard, FileReader::open((dir / name).string(), catalog));
    r->shards_.push_back(std::move(shard));
  }

  // Check the union of the shards against weight_map: tensors the index promises but the
  // shard lacks, and tensors a shard has that the index does not map to it.
  std::vector<std::string> absent, extra;
  std::set<std::pair<size_t, std::string>> present;
  for (size_t s = 0; s < r->shards_.size(); ++s) {
    for (size_t i = 0; i < r->shards_[s]->tensors().size(); ++i) {
      const TensorInfo& t = r->shards_[s]->tensors()[i];
      const auto it = mapped_shard.find(t.name);
      if (it == mapped_shard.end() || it->second != s) {
        extra.push_back("'" + t.name + "' in " + shard_names[s]);
        continue;
      }
      present.emplace(s, t.name);
      r->tensors_.push_back(t);
      r->where_.emplace_back(s, i);
    }
  }
  for (const auto& [tensor, s] : mapped)
    if (!present.count({s, tensor})) absent.push_back("'" + tensor + "' (" + shard_names[s] + ")");
  if (!absent.empty())
    return fail("weight_map lists " + std::to_string(absent.size()) +
                " tensor(s) missing from their shard: " + join(absent));
  if (!extra.empty())
    return fail("shards hold " + std::to_string(extra.size()) +
                " tensor(s) that weight_map does not map there: " + join(extra));
  return r;
}

Result<TensorData> IndexReader::read(size_t index) const {
  if (index >= where_.size()) return internal_error("tensor index " + std::to_string(index) + " out of range");
  return shards_[where_[index].first]->read(where_[index].second);
}

void IndexReader::release(size_t index) const {
  if (index < where_.size()) shards_[where_[index].first]->release(where_[index].second);
}

std::vector<Property> IndexReader::properties() const {
  std::vector<Property> p = {{"shards", MetaValue::make_u64(shards_.size())}};
  // Tensors are listed shard by shard: how many each shard holds.
  std::vector<MetaValue> per_shard(shards_.size(), MetaValue::make_u64(0));
  for (const auto& [shard, index] : where_) per_shard[shard] = MetaValue::make_u64(per_shard[shard].as_u64() + 1);
  p.push_back({"shard_tensors", MetaValue::make_array(MetaType::u64, std::move(per_shard))});
  // The index's own claim, as written (it may not be a plain number).
  if (!total_size_.empty()) p.push_back({"total_size", MetaValue::make_string(total_size_)});
  uint64_t sum = 0;
  for (const auto& s : shards_) sum += s->buffer_length();
  p.push_back({"data_bytes", MetaValue::make_u64(sum)});
  return p;
}

}  // namespace quantflow::safetensors
