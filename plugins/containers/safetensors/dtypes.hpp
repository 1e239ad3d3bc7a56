// The safetensors dtype strings (spec §3) and their quantflow DTypes.
#pragma once

#include <cstdint>
#include <string_view>

#include "quantflow/dtype.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow::safetensors {

struct DTypeEntry {
  std::string_view id;  // as spelled in the header: "F32", "F8_E4M3"
  // Position in the reference enum declaration; the reference writer sorts descending on it.
  int rank;
  uint32_t block_elems;
  uint32_t block_bytes;
  DTypeKind kind;

  DType dtype() const;
};

// Exact, case-sensitive match on the header spelling; null when unknown.
const DTypeEntry* find_by_id(std::string_view id);
// The entry whose quantflow DType equals `dtype` (name and block geometry); null otherwise.
const DTypeEntry* find_by_dtype(const DType& dtype);

// product(shape) without wrapping; false on overflow (hostile headers may try).
inline bool checked_element_count(const Shape& shape, uint64_t& out) {
  uint64_t n = 1;
  for (uint64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n)) return false;
  out = n;
  return true;
}

// Bytes of n_elems whole blocks; false when n_elems is not a whole number of blocks or the
// byte count overflows.
inline bool checked_byte_count(uint64_t n_elems, uint32_t block_elems, uint32_t block_bytes, uint64_t& out) {
  if (block_elems == 0 || n_elems % block_elems != 0) return false;
  return !__builtin_mul_overflow(n_elems / block_elems, uint64_t{block_bytes}, &out);
}

}  // namespace quantflow::safetensors
