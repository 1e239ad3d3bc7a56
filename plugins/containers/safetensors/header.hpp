// Parses and validates a safetensors header against every rule of spec §4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "dtypes.hpp"
#include "quantflow/status.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow::safetensors {

// The reference reader's HeaderTooLarge limit.
inline constexpr uint64_t kMaxHeaderLength = 100'000'000;

struct HeaderTensor {
  std::string name;
  std::string_view dtype_id;  // the header's spelling, from the dtype table
  DType dtype;
  Shape shape;
  uint64_t begin = 0;  // relative to the byte buffer
  uint64_t end = 0;
};

struct ParsedHeader {
  uint64_t header_length = 0;                   // N
  uint64_t data_start = 0;                      // 8 + N
  uint64_t buffer_length = 0;                   // file size - 8 - N
  std::map<std::string, std::string> metadata;  // __metadata__, byte order of keys
  std::vector<HeaderTensor> tensors;            // by data offset (file order)
};

// `file` is the whole file; codec-backed dtypes are resolved through `catalog`. Error
// messages are one line; tensor errors carry the tensor.
Result<ParsedHeader> parse_header(std::span<const std::byte> file, const CodecCatalog& catalog);
// The same over the leading `head` bytes of a file of `size` bytes (a compressed input's
// decoded prefix): the header must lie inside `head`.
Result<ParsedHeader> parse_header(std::span<const std::byte> head, uint64_t size, const CodecCatalog& catalog);

}  // namespace quantflow::safetensors
