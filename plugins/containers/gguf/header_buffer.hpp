// The GGUF header as bytes: a growing little-endian buffer, and metadata values encoded into it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "quantflow/metadata.hpp"
#include "quantflow/status.hpp"

namespace quantflow::gguf {

class ByteBuffer {
 public:
  template <typename T>
  void put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::byte*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void put_string(std::string_view text) {
    put<uint64_t>(text.size());
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    bytes_.insert(bytes_.end(), p, p + text.size());
  }
  void pad_to(uint64_t alignment) {
    while (bytes_.size() % alignment != 0) bytes_.push_back(std::byte{0});
  }
  const std::vector<std::byte>& bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

// Appends `v` as GGUF stores it (arrays with their element type and count); refuses integers
// that do not fit their declared type. `where` names the entry in messages.
Status put_value(ByteBuffer& out, const MetaValue& v, const std::string& where);

}  // namespace quantflow::gguf
