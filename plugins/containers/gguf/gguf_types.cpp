#include "gguf_types.hpp"

#include <charconv>
#include <iterator>

namespace quantflow::gguf {

namespace {

constexpr DTypeKind F = DTypeKind::floating;
constexpr DTypeKind I = DTypeKind::integer;
constexpr DTypeKind Q = DTypeKind::quantized;

// Only the ggml types that no codec provides: plain integers and f64, which are stored as is,
// and the ids ggml retired, kept so that refusals can name what the id used to be. Every other
// id (f32, f16, q4_0, ...) is declared once, with its geometry, by its codec plugin's
// {"gguf", id} entry and found through the CodecCatalog.
constexpr GgmlType kTypes[] = {
    {4, "q4_2", 0, 0, Q, true},        {5, "q4_3", 0, 0, Q, true},        {24, "i8", 1, 1, I, false},
    {25, "i16", 1, 2, I, false},       {26, "i32", 1, 4, I, false},       {27, "i64", 1, 8, I, false},
    {28, "f64", 1, 8, F, false},       {31, "q4_0_4_4", 0, 0, Q, true},   {32, "q4_0_4_8", 0, 0, Q, true},
    {33, "q4_0_8_8", 0, 0, Q, true},   {36, "iq4_nl_4_4", 0, 0, Q, true}, {37, "iq4_nl_4_8", 0, 0, Q, true},
    {38, "iq4_nl_8_8", 0, 0, Q, true},
};

constexpr MetaType kMetaTypes[kValueTypeCount] = {
    MetaType::u8,      MetaType::i8,     MetaType::u16,   MetaType::i16, MetaType::u32, MetaType::i32, MetaType::f32,
    MetaType::boolean, MetaType::string, MetaType::array, MetaType::u64, MetaType::i64, MetaType::f64,
};

constexpr uint32_t kFixedSizes[kValueTypeCount] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

}  // namespace

MetaType meta_type_of(ValueType type) { return kMetaTypes[static_cast<uint32_t>(type)]; }

ValueType value_type_of(MetaType type) {
  for (uint32_t i = 0; i < kValueTypeCount; ++i)
    if (kMetaTypes[i] == type) return static_cast<ValueType>(i);
  return ValueType::u8;  // unreachable: every MetaType has a GGUF id
}

uint32_t fixed_value_size(ValueType type) { return kFixedSizes[static_cast<uint32_t>(type)]; }

const GgmlType* ggml_type_by_id(uint32_t id) {
  for (const GgmlType& t : kTypes)
    if (t.id == id) return &t;
  return nullptr;
}

const GgmlType* ggml_type_by_name(std::string_view name) {
  for (const GgmlType& t : kTypes)
    if (!t.removed && name == t.name) return &t;
  return nullptr;
}

DType dtype_of(const GgmlType& type) { return DType{type.name, type.block_elems, type.block_bytes, type.kind}; }

Result<DType> dtype_for_id(uint32_t id, const CodecCatalog& catalog) {
  if (const GgmlType* t = ggml_type_by_id(id)) {
    if (t->removed)
      return bad_input("ggml type id " + std::to_string(id) + " (" + t->name +
                       ") was removed from ggml; convert the model again with a current llama.cpp");
    return dtype_of(*t);
  }
  if (const CodecDescriptor* codec = catalog.find_by_container_id(kContainerName, std::to_string(id))) {
    DType dtype = quantflow::dtype_of(*codec);
    if (!dtype.is_valid())
      return bad_input("ggml type id " + std::to_string(id) + " maps to codec '" + codec->name +
                       "', which has no usable block size");
    return dtype;
  }
  return bad_input("unknown ggml type id " + std::to_string(id));
}

Result<uint32_t> id_for_dtype(const DType& dtype, const CodecCatalog& catalog) {
  const std::string name = canonical_dtype_name(dtype.name);
  if (const GgmlType* t = ggml_type_by_name(name)) return t->id;
  if (const CodecDescriptor* codec = catalog.find(name)) {
    const std::string_view id = container_id(*codec, kContainerName);
    uint32_t value = 0;
    const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
    if (!id.empty() && ec == std::errc() && end == id.data() + id.size()) return value;
  }
  return unsupported("cannot store dtype '" + name + "' in GGUF");
}

}  // namespace quantflow::gguf
