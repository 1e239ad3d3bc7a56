// Element encodings form an open set: a stable lower-case name plus the block geometry.
// The core never enumerates them; containers and codec plugins introduce them. A plugin
// meets DType in every TensorInfo; a codec's DType is dtype_of(descriptor) (codec.hpp).
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

namespace quantflow {

// What kind of numbers an encoding holds; QfCodecDescriptor::kind stores it as uint32_t.
enum class DTypeKind : uint8_t {
  floating,   // plain IEEE-like element types: f32, f16, bf16, f64, f8_e4m3, ...
  integer,    // plain integers and bool
  quantized,  // block encodings with scales: q4_0, q4_k, iq2_xs, ...
};

// One encoding: a tensor of it is rows of whole blocks, each of block_elems elements packed
// into block_bytes bytes (a plain type is a block of one element: f32 is {1, 4}).
struct DType {
  std::string name;          // canonical lower-case name, e.g. "f32", "q4_k"
  uint32_t block_elems = 1;  // elements per block (1 for plain types)
  uint32_t block_bytes = 4;  // bytes per block
  DTypeKind kind = DTypeKind::floating;

  bool is_valid() const { return !name.empty() && block_elems > 0 && block_bytes > 0; }
  // Whether a row of row_len elements is whole blocks: encodings never split a block across rows.
  bool fits_row(uint64_t row_len) const { return row_len % block_elems == 0; }
  // Bytes for n elements; only meaningful when fits_row(n).
  uint64_t bytes_for(uint64_t n_elems) const { return n_elems / block_elems * block_bytes; }

  // Same name and geometry (the kind follows from the name).
  friend bool operator==(const DType& a, const DType& b) {
    return a.name == b.name && a.block_elems == b.block_elems && a.block_bytes == b.block_bytes;
  }
};

// Names are matched case-insensitively (users type Q4_K, q4_k or q4_K); stored lower-case.
inline std::string canonical_dtype_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace quantflow
