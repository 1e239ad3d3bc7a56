// The bytes of one input file as a container Reader sees them. The host opens inputs
// (CodecCatalog::open_input) so that every container reads plain and compressed files alike:
// a plain file is memory-mapped (MappedFile); a zstd-compressed one is decoded as it is read,
// never as a whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "quantflow/status.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow {

class InputFile {
 public:
  virtual ~InputFile() = default;

  virtual const std::string& path() const = 0;
  // The file's size as the container sees it (decoded bytes for a compressed file).
  virtual uint64_t size() const = 0;
  // The leading bytes held in memory, for parsing headers in place: the whole file when it is
  // mapped; for a compressed file, a decoded prefix of at most kCompressedHeadLimit bytes.
  virtual std::span<const std::byte> head() const = 0;
  // A copy of [offset, offset + length) that stays valid while the returned owner lives.
  // Errors name the file (a range past the end, a short read, a corrupt compressed frame).
  virtual Result<TensorData> read(uint64_t offset, uint64_t length) const = 0;
  // The host is done with a range: drop its pages so that streaming does not pile up in RSS.
  virtual void release(uint64_t offset, uint64_t length) const = 0;
  // "" for a plain file, else the stream compression it was decoded from ("zstd").
  virtual std::string compression() const { return {}; }

  // Whether [offset, offset + length) lies inside the file; written so that it cannot overflow.
  bool contains(uint64_t offset, uint64_t length) const { return offset <= size() && length <= size() - offset; }
  // Whether [offset, offset + length) lies inside head(), so that slice() may view it.
  bool in_head(uint64_t offset, uint64_t length) const {
    const uint64_t n = head().size();
    return offset <= n && length <= n - offset;
  }
  // For the common spelling of header parsers; data() is null for an empty head.
  const std::byte* data() const { return head().data(); }
  std::span<const std::byte> bytes() const { return head(); }
  // A view into head(), unchecked: call in_head() first.
  std::span<const std::byte> slice(uint64_t offset, uint64_t length) const {
    return head().subspan(static_cast<size_t>(offset), static_cast<size_t>(length));
  }
};

// How much of a compressed input is decoded up front for headers. A container whose header
// is longer than this cannot be read from a compressed file: decompress it first.
inline constexpr uint64_t kCompressedHeadLimit = 32ull << 20;

}  // namespace quantflow
