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
//
// A few encodings (APR's native q4 and q8) see a tensor as one flat run of elements instead:
// blocks cross row boundaries, the last block may be partial (its unused codes are zero), and
// the data may start with `prefix_bytes` of tensor-wide fields (q8's single scale). An empty
// tensor of such an encoding has no bytes at all. Codecs of that kind are called with one
// "row" holding the whole tensor (see encoding_rows in tensor.hpp).
struct DType {
  std::string name;          // canonical lower-case name, e.g. "f32", "q4_k"
  uint32_t block_elems = 1;  // elements per block (1 for plain types)
  uint32_t block_bytes = 4;  // bytes per block
  DTypeKind kind = DTypeKind::floating;
  bool whole_tensor = false;  // blocks run over the flattened tensor, the last one may be partial
  uint32_t prefix_bytes = 0;  // tensor-wide bytes before the first block (whole_tensor only)

  bool is_valid() const { return !name.empty() && block_elems > 0 && block_bytes > 0; }
  // Whether a row of row_len elements is whole blocks: encodings never split a block across
  // rows, except whole-tensor encodings, which take any shape.
  bool fits_row(uint64_t row_len) const { return whole_tensor || row_len % block_elems == 0; }
  // Bytes for n elements; only meaningful when fits_row holds for the tensor's rows.
  uint64_t bytes_for(uint64_t n_elems) const {
    if (!whole_tensor) return n_elems / block_elems * block_bytes;
    if (n_elems == 0) return 0;
    return prefix_bytes + (n_elems + block_elems - 1) / block_elems * block_bytes;
  }

  // Same name and geometry (the kind follows from the name).
  friend bool operator==(const DType& a, const DType& b) {
    return a.name == b.name && a.block_elems == b.block_elems && a.block_bytes == b.block_bytes &&
           a.whole_tensor == b.whole_tensor && a.prefix_bytes == b.prefix_bytes;
  }
};

// Names are matched case-insensitively (users type Q4_K, q4_k or q4_K); stored lower-case.
inline std::string canonical_dtype_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace quantflow
