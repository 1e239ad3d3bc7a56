#include "writing/layout.hpp"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <set>
#include <string_view>

#include "format/dtypes.hpp"
#include "format/format.hpp"
#include "format/header.hpp"
#include "metadata/metadata_codec.hpp"
#include "quantflow/utf8.hpp"
#include "shards/shards.hpp"

namespace quantflow::apr {

namespace {

Status check_tensor(const TensorInfo& t, const CodecCatalog& catalog, IndexEntry& entry) {
  if (t.name.size() > kMaxNameBytes)
    return usage_error("name is " + std::to_string(t.name.size()) + " bytes long; APR allows at most " +
                       std::to_string(kMaxNameBytes));
  if (invalid_utf8_offset(t.name) != std::string_view::npos) return bad_input("name is not valid UTF-8");
  if (t.shape.size() > kMaxDims)
    return usage_error("shape " + shape_to_string(t.shape) + " has " + std::to_string(t.shape.size()) +
                       " dimensions; APR allows at most " + std::to_string(kMaxDims));
  const auto id = id_for(t.dtype, catalog);
  if (!id)
    return usage_error("APR cannot store " + t.dtype.name + " tensors (its encodings: " + storable_names() +
                       "); choose one of them with --type or a recipe rule");
  const auto bytes = checked_bytes(t.dtype, t.shape);
  if (!bytes || !t.dtype.fits_row(t.shape.empty() ? 1 : t.shape.back()) || *bytes != t.n_bytes)
    return internal_error("n_bytes is " + std::to_string(t.n_bytes) + ", which does not match " + t.dtype.name + " " +
                          shape_to_string(t.shape));
  entry.name = t.name;
  entry.dtype = *id;
  entry.dims = t.shape;
  entry.size = t.n_bytes;
  return {};
}

}  // namespace

Result<Layout> plan_layout(const Metadata& metadata, const std::vector<TensorInfo>& tensors,
                           const CodecCatalog& catalog, const std::string& target_path, bool zstd) {
  if (tensors.size() > std::numeric_limits<uint32_t>::max())
    return usage_error("APR files hold at most 4294967295 tensors");
  Layout layout;
  layout.flags = kLayoutRowMajor;
  if (zstd) layout.flags |= kZstdCompressed;
  layout.entries.resize(tensors.size());
  std::set<std::string_view> names;
  for (size_t i = 0; i < tensors.size(); ++i) {
    Status s = check_tensor(tensors[i], catalog, layout.entries[i]);
    if (s.ok() && !names.insert(tensors[i].name).second) s = usage_error("duplicate tensor name");
    if (!s.ok()) return std::move(s).with_tensor(tensors[i].name);
    if (tensors[i].dtype.kind == DTypeKind::quantized) layout.flags |= kQuantized;
  }

  Metadata meta = metadata;
  if (meta.contains("apr.sharding.shard_count")) {
    layout.flags |= kSharded;
    const std::string pattern = pattern_for(std::filesystem::path(target_path).filename().string());
    if (!meta.contains("apr.sharding.pattern") && !pattern.empty())
      meta.append("apr.sharding.pattern", MetaValue::make_string(pattern));
  }
  QF_ASSIGN_OR_RETURN(layout.metadata_json, encode_metadata(meta));
  if (layout.metadata_json.size() > kMaxMetadataBytes)
    return usage_error("the metadata JSON would be " + std::to_string(layout.metadata_json.size()) +
                       " bytes, over APR's limit of " + std::to_string(kMaxMetadataBytes));
  return layout;
}

std::vector<std::byte> encode_prefix(Layout& layout) {
  uint64_t offset = 0;
  for (auto& e : layout.entries) {
    e.offset = offset;
    offset += padded(e.size);
  }
  std::vector<IndexEntry> sorted = layout.entries;
  // std::string compares as unsigned bytes: the index's byte order.
  std::sort(sorted.begin(), sorted.end(), [](const IndexEntry& a, const IndexEntry& b) { return a.name < b.name; });
  const std::vector<std::byte> index = encode_index(sorted);
  Header h;
  h.flags = layout.flags;
  h.tensor_count = static_cast<uint32_t>(layout.entries.size());
  h.metadata_offset = kHeaderBytes;
  h.metadata_size = static_cast<uint32_t>(layout.metadata_json.size());
  h.tensor_index_offset = kHeaderBytes + padded(layout.metadata_json.size());
  h.data_offset = h.tensor_index_offset + padded(index.size());

  std::vector<std::byte> out(h.data_offset, std::byte{0});
  const auto header = encode_header(h);
  std::copy(header.begin(), header.end(), out.begin());
  const auto* meta = reinterpret_cast<const std::byte*>(layout.metadata_json.data());
  std::copy(meta, meta + layout.metadata_json.size(), out.begin() + static_cast<std::ptrdiff_t>(kHeaderBytes));
  std::copy(index.begin(), index.end(), out.begin() + static_cast<std::ptrdiff_t>(h.tensor_index_offset));
  return out;
}

}  // namespace quantflow::apr
