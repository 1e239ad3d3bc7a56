#include "format/dtypes.hpp"

#include <charconv>

#include "format/format.hpp"

namespace quantflow::apr {

namespace {

struct DTypeEntry {
  uint8_t id;
  std::string_view name;  // the codec's name, or the storage type's own
  bool codec_backed;
  uint32_t block_bytes;  // storage types only (one element per block)
  DTypeKind kind;
};

constexpr DTypeKind F = DTypeKind::floating;
constexpr DTypeKind I = DTypeKind::integer;

constexpr DTypeEntry by_codec(uint8_t id, std::string_view name) { return {id, name, true, 0, F}; }
constexpr DTypeEntry storage(uint8_t id, std::string_view name, uint32_t bytes, DTypeKind kind) {
  return {id, name, false, bytes, kind};
}

// §6.1. Ids 0, 1, 12, 14 and 30 equal GGML's; 3-9 predate that rule and mean other things.
constexpr DTypeEntry kTable[] = {
    by_codec(0, "f32"),      by_codec(1, "f16"),     storage(3, "f64", 8, F), storage(4, "i32", 4, I),
    storage(5, "i64", 8, I), storage(6, "i8", 1, I), storage(7, "u8", 1, I),  by_codec(12, "q4_k"),
    by_codec(14, "q6_k"),    by_codec(30, "bf16"),   by_codec(128, "apr_q4"), by_codec(129, "apr_q8"),
};

// Files written before aprender issue 438 used 8 and 9 for the native q4 and q8.
constexpr struct { uint8_t legacy, current; } kLegacyIds[] = {{8, 128}, {9, 129}};

const DTypeEntry* find_entry(uint8_t id) {
  for (const auto& e : kTable)
    if (e.id == id) return &e;
  return nullptr;
}

DType storage_dtype(const DTypeEntry& e) { return DType{std::string(e.name), 1, e.block_bytes, e.kind}; }

bool is_legacy(uint8_t id) {
  for (const auto& l : kLegacyIds)
    if (l.legacy == id) return true;
  return false;
}

}  // namespace

Result<ResolvedDType> resolve_id(uint8_t id, const CodecCatalog& catalog) {
  for (const auto& l : kLegacyIds)
    if (l.legacy == id) id = l.current;
  const DTypeEntry* entry = find_entry(id);
  if (entry != nullptr && !entry->codec_backed) return ResolvedDType{id, storage_dtype(*entry)};
  // Codec-backed ids, and ids a codec plugin adds (project extensions, readable only by us).
  const CodecDescriptor* codec = catalog.find_by_container_id(kCodecContainer, std::to_string(id));
  if (codec == nullptr) {
    if (entry != nullptr)
      return bad_input("dtype " + std::to_string(id) + " (" + std::string(entry->name) +
                       ") needs a codec plugin, and none is loaded that provides it");
    return bad_input("invalid dtype id " + std::to_string(id));
  }
  DType dtype = dtype_of(*codec);
  if (!dtype.is_valid())
    return bad_input("dtype " + std::to_string(id) + " maps to codec '" + codec->name +
                     "', which has no usable block size");
  return ResolvedDType{id, std::move(dtype)};
}

std::optional<uint8_t> id_for(const DType& dtype, const CodecCatalog& catalog) {
  for (const auto& e : kTable)
    if (!e.codec_backed && storage_dtype(e) == dtype) return e.id;
  const CodecDescriptor* codec = catalog.find(dtype.name);
  if (codec == nullptr || !(dtype_of(*codec) == dtype)) return std::nullopt;
  const std::string_view text = container_id(*codec, kCodecContainer);
  unsigned id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || id > 255) return std::nullopt;
  const auto byte = static_cast<uint8_t>(id);
  const DTypeEntry* entry = find_entry(byte);
  // Only under an id that reads back as this very codec.
  if ((entry != nullptr && !entry->codec_backed) || is_legacy(byte) ||
      catalog.find_by_container_id(kCodecContainer, text) != codec)
    return std::nullopt;
  return byte;
}

std::string storable_names() {
  std::string out;
  for (const auto& e : kTable) out += (out.empty() ? "" : ", ") + std::string(e.name);
  return out;
}

}  // namespace quantflow::apr

namespace quantflow::apr {

std::optional<uint64_t> checked_bytes(const DType& dtype, const std::vector<uint64_t>& shape) {
  uint64_t n = 1;
  for (uint64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
  uint64_t blocks = n / dtype.block_elems;
  if (dtype.whole_tensor) {
    if (n == 0) return 0;
    blocks = n / dtype.block_elems + (n % dtype.block_elems != 0 ? 1 : 0);
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(blocks, uint64_t{dtype.block_bytes}, &bytes)) return std::nullopt;
  if (dtype.whole_tensor && __builtin_add_overflow(bytes, uint64_t{dtype.prefix_bytes}, &bytes)) return std::nullopt;
  return bytes;
}

}  // namespace quantflow::apr
