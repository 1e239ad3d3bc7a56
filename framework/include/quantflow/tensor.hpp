// Tensor descriptions (TensorInfo: name, encoding, shape, size) and views of tensor bytes
// (TensorData), which Readers return and Writers receive, plus shape arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "quantflow/dtype.hpp"

namespace quantflow {

// Shape is outermost first (PyTorch / safetensors order): a [rows, cols] weight has
// shape {rows, cols} and rows of `cols` contiguous elements. GGUF's ne[] is the reverse.
using Shape = std::vector<uint64_t>;

// Elements in a tensor of this shape (1 for a scalar, the empty shape).
inline uint64_t element_count(const Shape& shape) {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

// Elements per row: the innermost dimension (1 for a scalar).
inline uint64_t row_length(const Shape& shape) { return shape.empty() ? 1 : shape.back(); }

// Rows of row_length(shape) elements: what codecs encode and decode (0 for an empty row).
inline uint64_t row_count(const Shape& shape) {
  const uint64_t len = row_length(shape);
  return len == 0 ? 0 : element_count(shape) / len;
}

// How a codec of `dtype` is called on a tensor of `shape`: n_rows rows of n_per_row elements.
// Row-block encodings see the tensor's rows; whole-tensor encodings one row of every element.
struct EncodingRows {
  uint64_t n_rows = 0;
  uint64_t n_per_row = 0;
};
inline EncodingRows encoding_rows(const DType& dtype, const Shape& shape) {
  if (dtype.whole_tensor) {
    const uint64_t n = element_count(shape);
    return {n == 0 ? 0u : 1u, n};
  }
  return {row_count(shape), row_length(shape)};
}

// "[4096, 11008]", for messages.
inline std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// One tensor as a Reader lists it and a Writer is told it. n_bytes is
// dtype.bytes_for(element_count(shape)) for every encoding a codec describes.
struct TensorInfo {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t n_bytes = 0;  // bytes of this tensor's data, without container padding
  uint64_t offset = 0;   // where the reader found it (container-specific origin); informational
};

// Bytes of one tensor. `bytes` stays valid while `owner` (or the Reader it came from) lives:
// a mapped reader hands out views into the mapping and leaves owner empty.
struct TensorData {
  std::span<const std::byte> bytes;
  std::shared_ptr<const void> owner;
};

}  // namespace quantflow
