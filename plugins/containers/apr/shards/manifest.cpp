// The manifest beside a sharded model (§8): {version, shard_count, total_size, tensor_count,
// shards: [{filename, index, size, tensors}], weight_map: {tensor: shard index}}. quantflow
// writes it as the split convention's index file and opens a model from it.
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "format/format.hpp"
#include "shards/shard_names.hpp"
#include "shards/sharded_reader.hpp"
#include "shards/shards.hpp"

namespace quantflow::apr {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr uint64_t kMaxManifestBytes = 256ull << 20;

struct ListedShard {
  std::string filename;
  std::vector<std::string> tensors;
  bool lists_tensors = false;
};

Result<std::vector<ListedShard>> parse_shards(const Json& root) {
  const auto shards = root.find("shards");
  if (shards == root.end() || !shards->is_array() || shards->empty())
    return bad_input("the manifest has no 'shards' list");
  std::map<uint64_t, ListedShard> by_index;
  for (const Json& item : *shards) {
    if (!item.is_object() || !item.contains("filename") || !item["filename"].is_string() || !item.contains("index") ||
        !item["index"].is_number_unsigned())
      return bad_input("every entry of the manifest's 'shards' needs a 'filename' and an 'index'");
    ListedShard shard;
    shard.filename = item["filename"].get<std::string>();
    if (!is_plain_file_name(shard.filename))
      return bad_input("the manifest names '" + shard.filename + "', which is not a file beside it");
    if (const auto tensors = item.find("tensors"); tensors != item.end()) {
      if (!tensors->is_array()) return bad_input("the manifest's tensor list of " + shard.filename + " is not a list");
      for (const Json& t : *tensors) {
        if (!t.is_string()) return bad_input("the manifest's tensor list of " + shard.filename + " holds a non-name");
        shard.tensors.push_back(t.get<std::string>());
      }
      shard.lists_tensors = true;
    }
    const uint64_t index = item["index"].get<uint64_t>();
    if (!by_index.emplace(index, std::move(shard)).second)
      return bad_input("the manifest lists shard index " + std::to_string(index) + " twice");
  }
  std::vector<ListedShard> out;
  for (auto& [index, shard] : by_index) {
    if (index != out.size())
      return bad_input("the manifest's shard indices are not 0 to " + std::to_string(by_index.size() - 1));
    out.push_back(std::move(shard));
  }
  if (const auto count = root.find("shard_count");
      count != root.end() && (!count->is_number_unsigned() || count->get<uint64_t>() != out.size()))
    return bad_input("the manifest's shard_count does not match its " + std::to_string(out.size()) + " shards");
  return out;
}

// The shard's tensors against the manifest's list of them and its weight_map.
Status check_listing(const FileReader& shard, const ListedShard& listed, size_t index, const Json& root) {
  std::set<std::string> held;
  for (const auto& t : shard.tensors()) held.insert(t.name);
  if (listed.lists_tensors) {
    for (const auto& name : listed.tensors)
      if (!held.count(name))
        return bad_input("the manifest lists this tensor here, but the shard lacks it").with_tensor(name);
    const std::set<std::string> names(listed.tensors.begin(), listed.tensors.end());
    for (const auto& name : held)
      if (!names.count(name))
        return bad_input("the shard holds this tensor, but the manifest does not list it").with_tensor(name);
  }
  if (const auto map = root.find("weight_map"); map != root.end() && map->is_object())
    for (const auto& name : held) {
      const auto it = map->find(name);
      if (it == map->end() || !it->is_number_unsigned() || it->get<uint64_t>() != index)
        return bad_input("the manifest's weight_map does not map this tensor to shard " + std::to_string(index))
            .with_tensor(name);
    }
  return {};
}

}  // namespace

bool looks_like_manifest(const unsigned char* head, size_t n) {
  if (head == nullptr) return false;
  const std::string_view text(reinterpret_cast<const char*>(head), n);
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{' && text.find("\"shard_count\"") != text.npos &&
         text.find("\"shards\"") != text.npos;
}

Result<std::unique_ptr<Reader>> open_manifest(std::shared_ptr<InputFile> file, const CodecCatalog& catalog) {
  const std::string path = file->path();
  if (file->size() > kMaxManifestBytes)
    return bad_input("the manifest is " + std::to_string(file->size()) + " bytes, too large").with_file(path);
  if (file->head().size() < file->size())
    return bad_input("the manifest is larger than the part of a compressed input decoded for headers").with_file(path);
  const auto head = file->head();
  const Json root = Json::parse(reinterpret_cast<const char*>(head.data()),
                                reinterpret_cast<const char*>(head.data()) + head.size(), nullptr, false);
  if (root.is_discarded() || !root.is_object()) return bad_input("the manifest is not a JSON object").with_file(path);
  auto listed = parse_shards(root);
  if (!listed.ok()) return listed.take_status().with_file(path);

  auto sharded = std::make_unique<ShardedReader>();
  const fs::path dir = fs::path(path).parent_path();
  const uint64_t count = listed->size();
  for (size_t s = 0; s < listed->size(); ++s) {
    const std::string shard_path = (dir / (*listed)[s].filename).string();
    std::error_code ec;
    if (!fs::is_regular_file(shard_path, ec))
      return bad_input("the manifest lists this shard, but it is missing").with_file(shard_path);
    QF_ASSIGN_OR_RETURN(auto shard, FileReader::open(shard_path, catalog));
    auto keys = shard_keys_of(shard->metadata());
    if (!keys.ok()) return keys.take_status().with_file(shard_path);
    if (keys->present && (keys->count != count || keys->index != s))
      return bad_input("its sharding metadata says shard " + std::to_string(keys->index + 1) + " of " +
                       std::to_string(keys->count) + ", the manifest shard " + std::to_string(s + 1) + " of " +
                       std::to_string(count))
          .with_file(shard_path);
    if (Status st = check_listing(*shard, (*listed)[s], s, root); !st.ok()) return std::move(st).with_file(shard_path);
    QF_RETURN_IF_ERROR(sharded->add(std::move(shard)));
  }
  if (const auto total = root.find("tensor_count");
      total != root.end() && (!total->is_number_unsigned() || total->get<uint64_t>() != sharded->tensors().size()))
    return bad_input("the manifest's tensor_count does not match the " + std::to_string(sharded->tensors().size()) +
                     " tensors its shards hold")
        .with_file(path);
  sharded->finish();
  return std::unique_ptr<Reader>(std::move(sharded));
}

std::string manifest_text(const std::vector<SplitFile>& files, const CodecCatalog&) {
  uint64_t total = 0, count = 0;
  Json shards = Json::array();
  Json weight_map = Json::object();
  for (size_t i = 0; i < files.size(); ++i) {
    uint64_t bytes = 0;
    Json names = Json::array();
    for (const auto& t : files[i].tensors) {
      bytes += t.n_bytes;
      names.push_back(t.name);
      weight_map[t.name] = i;
    }
    // Raw tensor bytes: the manifest is written from the plan, before (compressed) sizes exist.
    shards.push_back({{"filename", fs::path(files[i].path).filename().string()},
                      {"index", i},
                      {"size", bytes},
                      {"tensors", std::move(names)}});
    total += bytes;
    count += files[i].tensors.size();
  }
  Json manifest = {{"version", 1},          {"shard_count", files.size()}, {"total_size", total},
                   {"tensor_count", count}, {"shards", std::move(shards)}, {"weight_map", std::move(weight_map)}};
  return manifest.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace quantflow::apr
