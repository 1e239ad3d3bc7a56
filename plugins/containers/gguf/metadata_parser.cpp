// GGUF parsing: the metadata key/value section, including nested arrays.
#include <cmath>
#include <cstring>

#include "parser.hpp"
#include "quantflow/utf8.hpp"

namespace quantflow::gguf {

namespace {

// Deep nesting costs only 12 bytes per level; the limit keeps recursion off the stack's edge.
constexpr int kMaxArrayDepth = 64;

}  // namespace

Result<std::string_view> Parser::read_string(const std::string& what) {
  uint64_t length = 0;
  if (!cur_.read(length)) return truncated("the length of " + what);
  std::string_view text;
  if (!cur_.read_view(length, text))
    return bad_input(what + ": string of " + std::to_string(length) + " bytes runs past the end of the file");
  return text;
}

Status Parser::parse_metadata() {
  std::unordered_set<std::string_view> seen;
  seen.reserve(static_cast<size_t>(n_kv_));
  for (uint64_t i = 0; i < n_kv_; ++i) {
    QF_ASSIGN_OR_RETURN(std::string_view key, read_string("metadata key #" + std::to_string(i)));
    if (key.empty()) return bad_input("metadata entry #" + std::to_string(i) + " has an empty key");
    // Keys and tensor names go into messages, JSON and other containers' headers, all of
    // which need text; string values stay bytes, as ggml keeps them.
    if (invalid_utf8_offset(key) != std::string_view::npos)
      return bad_input("metadata entry #" + std::to_string(i) + ": the key is not valid UTF-8");
    if (!seen.insert(key).second) return bad_input("duplicate metadata key '" + std::string(key) + "'");
    const std::string where = "metadata '" + std::string(key) + "'";
    uint32_t type = 0;
    if (!cur_.read(type)) return truncated("the type of " + where);
    if (type >= kValueTypeCount) return bad_input(where + ": invalid value type " + std::to_string(type));
    QF_ASSIGN_OR_RETURN(MetaValue value, read_value(static_cast<ValueType>(type), where, 0));
    out_.metadata_.append(std::string(key), std::move(value));
  }
  return {};
}

template <typename T>
Status Parser::read_scalar(T& out, const std::string& where) {
  if (!cur_.read(out)) return truncated("the value of " + where);
  return {};
}

template <typename T>
Result<MetaValue> Parser::read_int(MetaType meta, const std::string& where) {
  T v{};
  QF_RETURN_IF_ERROR(read_scalar(v, where));
  if constexpr (std::is_signed_v<T>)
    return MetaValue::make_signed(meta, static_cast<int64_t>(v));
  else
    return MetaValue::make_unsigned(meta, static_cast<uint64_t>(v));
}

Result<MetaValue> Parser::read_value(ValueType type, const std::string& where, int depth) {
  const MetaType meta = meta_type_of(type);
  switch (type) {
    case ValueType::u8:
      return read_int<uint8_t>(meta, where);
    case ValueType::i8:
      return read_int<int8_t>(meta, where);
    case ValueType::u16:
      return read_int<uint16_t>(meta, where);
    case ValueType::i16:
      return read_int<int16_t>(meta, where);
    case ValueType::u32:
      return read_int<uint32_t>(meta, where);
    case ValueType::i32:
      return read_int<int32_t>(meta, where);
    case ValueType::u64:
      return read_int<uint64_t>(meta, where);
    case ValueType::i64:
      return read_int<int64_t>(meta, where);
    case ValueType::boolean: {
      uint8_t b = 0;
      QF_RETURN_IF_ERROR(read_scalar(b, where));
      return MetaValue::make_bool(b != 0);
    }
    case ValueType::f32: {
      float f = 0;
      QF_RETURN_IF_ERROR(read_scalar(f, where));
      MetaValue v = MetaValue::make_f32(f);
      // Widening to double quiets a signalling NaN; the raw bits ride along so that the
      // writer can restore them exactly.
      if (std::isnan(f)) {
        uint32_t bits = 0;
        std::memcpy(&bits, &f, 4);
        v.integer = bits;
      }
      return v;
    }
    case ValueType::f64: {
      double d = 0;
      QF_RETURN_IF_ERROR(read_scalar(d, where));
      return MetaValue::make_f64(d);
    }
    case ValueType::string: {
      QF_ASSIGN_OR_RETURN(std::string_view text, read_string(where));
      return MetaValue::make_string(std::string(text));
    }
    case ValueType::array:
      return read_array(where, depth);
  }
  return internal_error(where + ": unhandled value type");
}

Result<MetaValue> Parser::read_array(const std::string& where, int depth) {
  if (depth >= kMaxArrayDepth)
    return bad_input(where + ": arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
  uint32_t element_type = 0;
  uint64_t count = 0;
  if (!cur_.read(element_type)) return truncated("the array header of " + where);
  if (element_type >= kValueTypeCount)
    return bad_input(where + ": invalid array element type " + std::to_string(element_type));
  if (!cur_.read(count)) return truncated("the array header of " + where);
  const auto etype = static_cast<ValueType>(element_type);
  uint64_t min_size = fixed_value_size(etype);
  if (etype == ValueType::string) min_size = 8;
  if (etype == ValueType::array) min_size = 4 + 8;
  if (count > cur_.remaining() / min_size)
    return bad_input(where + ": array of " + std::to_string(count) + " elements runs past the end of the file");
  std::vector<MetaValue> elements;
  elements.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    QF_ASSIGN_OR_RETURN(MetaValue v, read_value(etype, where, depth + 1));
    elements.push_back(std::move(v));
  }
  return MetaValue::make_array(meta_type_of(etype), std::move(elements));
}

}  // namespace quantflow::gguf
