#include "dtypes.hpp"

#include <array>

namespace quantflow::safetensors {

namespace {

constexpr DTypeKind F = DTypeKind::floating;
constexpr DTypeKind I = DTypeKind::integer;

// Listed in the reference enum's declaration order, so `rank` is also the array index.
// Sub-byte types are blocks: F4 packs 2 elements per byte, F6 packs 4 elements in 3 bytes,
// which is exactly the reference's "bit count divisible by 8" rule.
constexpr std::array<DTypeEntry, 22> kTable = {{
    {"BOOL", 0, 1, 1, I},    {"F4", 1, 2, 1, F},          {"F6_E2M3", 2, 4, 3, F},      {"F6_E3M2", 3, 4, 3, F},
    {"U8", 4, 1, 1, I},      {"I8", 5, 1, 1, I},          {"F8_E5M2", 6, 1, 1, F},      {"F8_E4M3", 7, 1, 1, F},
    {"F8_E8M0", 8, 1, 1, F}, {"F8_E4M3FNUZ", 9, 1, 1, F}, {"F8_E5M2FNUZ", 10, 1, 1, F}, {"I16", 11, 1, 2, I},
    {"U16", 12, 1, 2, I},    {"F16", 13, 1, 2, F},        {"BF16", 14, 1, 2, F},        {"I32", 15, 1, 4, I},
    {"U32", 16, 1, 4, I},    {"F32", 17, 1, 4, F},        {"C64", 18, 1, 8, F},         {"F64", 19, 1, 8, F},
    {"I64", 20, 1, 8, I},    {"U64", 21, 1, 8, I},
}};

}  // namespace

DType DTypeEntry::dtype() const { return DType{canonical_dtype_name(id), block_elems, block_bytes, kind}; }

const DTypeEntry* find_by_id(std::string_view id) {
  for (const auto& e : kTable)
    if (e.id == id) return &e;
  return nullptr;
}

const DTypeEntry* find_by_dtype(const DType& dtype) {
  for (const auto& e : kTable)
    if (e.dtype() == dtype) return &e;
  return nullptr;
}

}  // namespace quantflow::safetensors
