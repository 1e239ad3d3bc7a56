#include "dtypes.hpp"

#include <array>

namespace quantflow::safetensors {

namespace {

constexpr DTypeKind F = DTypeKind::floating;
constexpr DTypeKind I = DTypeKind::integer;

// A dtype no codec provides: stored and copied as is, so its geometry is part of the table.
constexpr DTypeEntry storage(std::string_view id, int rank, uint32_t block_elems, uint32_t block_bytes,
                             DTypeKind kind) {
  return {.id = id,
          .rank = rank,
          .codec_backed = false,
          .block_elems = block_elems,
          .block_bytes = block_bytes,
          .kind = kind};
}

// A dtype whose codec plugin declares {"safetensors", id} with the geometry.
constexpr DTypeEntry by_codec(std::string_view id, int rank) {
  return {.id = id, .rank = rank, .codec_backed = true, .block_elems = 0, .block_bytes = 0, .kind = F};
}

// Listed in the reference enum's declaration order, so `rank` is also the array index.
// Sub-byte types are blocks: F4 packs 2 elements per byte, F6 packs 4 elements in 3 bytes,
// which is exactly the reference's "bit count divisible by 8" rule.
constexpr std::array<DTypeEntry, 22> kTable = {{
    storage("BOOL", 0, 1, 1, I),
    storage("F4", 1, 2, 1, F),
    storage("F6_E2M3", 2, 4, 3, F),
    storage("F6_E3M2", 3, 4, 3, F),
    storage("U8", 4, 1, 1, I),
    storage("I8", 5, 1, 1, I),
    by_codec("F8_E5M2", 6),
    by_codec("F8_E4M3", 7),
    storage("F8_E8M0", 8, 1, 1, F),
    storage("F8_E4M3FNUZ", 9, 1, 1, F),
    storage("F8_E5M2FNUZ", 10, 1, 1, F),
    storage("I16", 11, 1, 2, I),
    storage("U16", 12, 1, 2, I),
    by_codec("F16", 13),
    by_codec("BF16", 14),
    storage("I32", 15, 1, 4, I),
    storage("U32", 16, 1, 4, I),
    by_codec("F32", 17),
    storage("C64", 18, 1, 8, F),
    storage("F64", 19, 1, 8, F),
    storage("I64", 20, 1, 8, I),
    storage("U64", 21, 1, 8, I),
}};

constexpr bool ranks_are_indices() {
  for (size_t i = 0; i < kTable.size(); ++i)
    if (kTable[i].rank != static_cast<int>(i)) return false;
  return true;
}
static_assert(ranks_are_indices());

const DTypeEntry* find_by_id(std::string_view id) {
  for (const auto& e : kTable)
    if (e.id == id) return &e;
  return nullptr;
}

DType storage_dtype(const DTypeEntry& e) {
  return DType{canonical_dtype_name(e.id), e.block_elems, e.block_bytes, e.kind};
}

}  // namespace

Result<ResolvedDType> resolve_id(std::string_view id, const CodecCatalog& catalog) {
  const DTypeEntry* entry = find_by_id(id);
  if (entry == nullptr) return bad_input("unknown dtype '" + std::string(id) + "'");
  if (!entry->codec_backed) return ResolvedDType{entry, storage_dtype(*entry)};
  const CodecDescriptor* codec = catalog.find_by_container_id(kContainerId, id);
  if (codec == nullptr) return bad_input("no loaded codec plugin provides dtype '" + std::string(id) + "'");
  DType dtype = dtype_of(*codec);
  if (!dtype.is_valid())
    return bad_input("dtype '" + std::string(id) + "' maps to codec '" + codec->name +
                     "', which has no usable block size");
  return ResolvedDType{entry, std::move(dtype)};
}

std::optional<ResolvedDType> resolve_dtype(const DType& dtype, const CodecCatalog& catalog) {
  if (const DTypeEntry* entry = find_storage_only(dtype)) return ResolvedDType{entry, dtype};
  const CodecDescriptor* codec = catalog.find(dtype.name);
  if (codec == nullptr || !(dtype_of(*codec) == dtype)) return std::nullopt;
  const std::string_view id = container_id(*codec, kContainerId);
  const DTypeEntry* entry = find_by_id(id);
  // Written only under a spelling that reads back as this very codec.
  if (entry == nullptr || !entry->codec_backed || catalog.find_by_container_id(kContainerId, id) != codec)
    return std::nullopt;
  return ResolvedDType{entry, dtype};
}

const DTypeEntry* find_storage_only(const DType& dtype) {
  for (const auto& e : kTable)
    if (!e.codec_backed && storage_dtype(e) == dtype) return &e;
  return nullptr;
}

}  // namespace quantflow::safetensors
