// GGUF format constants and the ggml tensor type table (gguf.md §4.1, §7).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "quantflow/codec.hpp"
#include "quantflow/container.hpp"
#include "quantflow/dtype.hpp"
#include "quantflow/metadata.hpp"

namespace quantflow::gguf {

inline constexpr char kContainerName[] = "gguf";
inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a LE u32
inline constexpr uint32_t kVersion = 3;         // the version written, and the newest read
inline constexpr uint32_t kMinVersion = 2;      // the oldest version read (gguf.md §9)
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr uint64_t kMaxNameBytes = 63;  // GGML_MAX_NAME (64) includes the NUL
inline constexpr uint32_t kMaxDims = 4;
inline constexpr char kAlignmentKey[] = "general.alignment";

// Pre-GGUF ggml magics, as LE u32s of the first four bytes.
inline constexpr uint32_t kMagicGgml = 0x67676d6c;  // "lmgg": unversioned GGML
inline constexpr uint32_t kMagicGgmf = 0x67676d66;  // "fmgg": GGMF, versioned
inline constexpr uint32_t kMagicGgjt = 0x67676a74;  // "tjgg": GGJT, versioned

// GGUF metadata value type ids.
enum class ValueType : uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};
inline constexpr uint32_t kValueTypeCount = 13;

MetaType meta_type_of(ValueType type);
ValueType value_type_of(MetaType type);
// Payload bytes of a fixed-width value, or 0 for strings and arrays.
uint32_t fixed_value_size(ValueType type);

struct GgmlType {
  uint32_t id;
  const char* name;  // ggml's type_name, lower-cased ("q4_k", not "q4_K")
  uint32_t block_elems;
  uint32_t block_bytes;
  DTypeKind kind;
  bool removed;  // ids ggml retired; their blocks can no longer be interpreted
};

// The plugin's own entry for an id that no codec provides (plain integers, f64, removed ids),
// or null.
const GgmlType* ggml_type_by_id(uint32_t id);
// A live (non-removed) codec-less type by canonical dtype name, or null.
const GgmlType* ggml_type_by_name(std::string_view name);
DType dtype_of(const GgmlType& type);

// Resolves a stored type id for tensor reading: the codec-less table first, then the codec
// plugins' "gguf" ids. The error names the reason; the caller adds the tensor.
Result<DType> dtype_for_id(uint32_t id, const CodecCatalog& catalog);
// The id to store for a dtype, by the same two sources.
Result<uint32_t> id_for_dtype(const DType& dtype, const CodecCatalog& catalog);

}  // namespace quantflow::gguf
