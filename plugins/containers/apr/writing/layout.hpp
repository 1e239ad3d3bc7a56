// Everything a writer decides before the first tensor byte: the checks on names, shapes and
// encodings, the header flags, the metadata JSON and the tensor index in name order; and the
// bytes before the data once every tensor's stored size is known.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "format/index.hpp"
#include "quantflow/container.hpp"

namespace quantflow::apr {

// Data is stored in the order the tensors were given (as aprender's streaming writer does),
// so a reader that lists tensors by offset gets that order back; the index is sorted by name.
struct Layout {
  std::string metadata_json;
  std::vector<IndexEntry> entries;  // entries[i] describes tensors[i]
  uint16_t flags = 0;
};

// Refused with the tensor named: names over 256 bytes, not UTF-8 or repeated, more than 8
// dimensions, and encodings APR cannot hold. `target_path` names the shard files of a
// sharded model in its metadata; `zstd` sets ZSTD_COMPRESSED.
Result<Layout> plan_layout(const Metadata& metadata, const std::vector<TensorInfo>& tensors,
                           const CodecCatalog& catalog, const std::string& target_path, bool zstd);

// Header, metadata, index (in name order) and their padding, with the tensors placed back to
// back in their given order at multiples of 64 from entries[i].size (which it turns into offsets).
std::vector<std::byte> encode_prefix(Layout& layout);

}  // namespace quantflow::apr
