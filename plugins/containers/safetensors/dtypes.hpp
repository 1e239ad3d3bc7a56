// The safetensors dtype strings (spec §3) and their quantflow DTypes. The table holds what is
// a fact of the format: every spelling with its rank. Geometry lives in the table only for
// storage-only dtypes; a codec-backed spelling (F16, F32, ...) is declared once, with its
// geometry, by the codec plugin's {"safetensors", id} entry and found through the CodecCatalog.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "quantflow/container.hpp"
#include "quantflow/dtype.hpp"
#include "quantflow/status.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow::safetensors {

inline constexpr std::string_view kContainerId = "safetensors";  // the container of codecs' ids

struct DTypeEntry {
  std::string_view id;  // as spelled in the header: "F32", "F8_E4M3"
  // Position in the reference enum declaration; the reference writer sorts descending on it.
  int rank;
  // Whether a codec plugin provides the encoding; the geometry below is then unused (zero).
  bool codec_backed;
  uint32_t block_elems;
  uint32_t block_bytes;
  DTypeKind kind;
};

// A header spelling together with the encoding it names.
struct ResolvedDType {
  const DTypeEntry* entry;
  DType dtype;
};

// Exact, case-sensitive match on the header spelling. Refused (bad input, one line) when the
// format has no such dtype or no loaded codec provides a codec-backed one.
Result<ResolvedDType> resolve_id(std::string_view id, const CodecCatalog& catalog);
// The spelling that stores `dtype` (name and block geometry) as is; nullopt when none does.
std::optional<ResolvedDType> resolve_dtype(const DType& dtype, const CodecCatalog& catalog);
// A storage-only entry whose name and geometry equal `dtype`'s; null otherwise.
const DTypeEntry* find_storage_only(const DType& dtype);

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
