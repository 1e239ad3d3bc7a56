// The tensor index (§6): packed entries {name_len u16, name, dtype u8, ndim u8, dims u64 x ndim
// (outermost first), offset u64 (from data_offset), size u64}, sorted by name in byte order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quantflow/status.hpp"

namespace quantflow::apr {

struct IndexEntry {
  std::string name;
  uint8_t dtype = 0;
  std::vector<uint64_t> dims;  // outermost first
  uint64_t offset = 0;         // relative to data_offset
  uint64_t size = 0;           // stored bytes (the zstd frame's length in a compressed file)
};

// Parses `count` entries from `index` (the bytes between tensor_index_offset and data_offset).
// Refused: entries running past the index, ndim above 8, names that are not UTF-8, and names
// out of byte order or repeated. Errors name the tensor once its name is known.
Result<std::vector<IndexEntry>> parse_index(std::span<const std::byte> index, uint32_t count);

// The packed entries (without the padding that follows them).
std::vector<std::byte> encode_index(const std::vector<IndexEntry>& entries);

// Bytes of one encoded entry.
uint64_t entry_bytes(const IndexEntry& entry);

}  // namespace quantflow::apr
