// Bounds-checked little-endian reads over a byte span. Every read says whether it fit, so a
// truncated or hostile file can never make the parser step outside the mapping.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace quantflow::gguf {

static_assert(std::endian::native == std::endian::little, "the GGUF plugin assumes a little-endian host");

class ByteCursor {
 public:
  explicit ByteCursor(std::span<const std::byte> bytes, uint64_t position = 0) : bytes_(bytes), pos_(position) {}

  uint64_t position() const { return pos_; }
  uint64_t size() const { return bytes_.size(); }
  uint64_t remaining() const { return pos_ <= bytes_.size() ? bytes_.size() - pos_ : 0; }
  bool has(uint64_t n) const { return n <= remaining(); }

  template <typename T>
  bool read(T& out) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (!has(sizeof(T))) return false;
    std::memcpy(&out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }

  // A view of the next n bytes (valid while the underlying span is).
  bool read_view(uint64_t n, std::string_view& out) {
    if (!has(n)) return false;
    out = std::string_view(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(n));
    pos_ += n;
    return true;
  }

 private:
  std::span<const std::byte> bytes_;
  uint64_t pos_;
};

}  // namespace quantflow::gguf
