#include "reading/input_bytes.hpp"

#include <algorithm>
#include <cstring>

#include "format/crc32.hpp"

namespace quantflow::apr {

Result<TensorData> bytes_at(const InputFile& file, uint64_t offset, uint64_t length) {
  if (file.in_head(offset, length)) return TensorData{file.slice(offset, length), nullptr};
  return file.read(offset, length);
}

Result<uint32_t> u32_at(const InputFile& file, uint64_t offset) {
  QF_ASSIGN_OR_RETURN(auto data, bytes_at(file, offset, 4));
  uint32_t value = 0;
  std::memcpy(&value, data.bytes.data(), 4);
  return value;
}

Result<uint32_t> crc_of_prefix(const InputFile& file, uint64_t end) {
  constexpr uint64_t kChunk = 16ull << 20;
  // Only a mapped file's pages are the file's own; a compressed input's head is a buffer.
  const bool mapped = file.compression().empty();
  uint32_t crc = 0;
  for (uint64_t pos = 0; pos < end;) {
    const uint64_t n = std::min(kChunk, end - pos);
    QF_ASSIGN_OR_RETURN(auto chunk, bytes_at(file, pos, n));
    crc = crc32_update(crc, chunk.bytes);
    if (mapped) file.release(pos, n);
    pos += n;
  }
  return crc;
}

}  // namespace quantflow::apr
