// Encodes metadata values as GGUF stores them, refusing integers that do not fit their type.
#include <cmath>
#include <cstring>
#include <limits>

#include "gguf_types.hpp"
#include "header_buffer.hpp"

namespace quantflow::gguf {

namespace {

bool fits(const MetaValue& v) {
  const int64_t s = v.as_i64();
  switch (v.type) {
    case MetaType::u8:
      return v.integer <= std::numeric_limits<uint8_t>::max();
    case MetaType::u16:
      return v.integer <= std::numeric_limits<uint16_t>::max();
    case MetaType::u32:
      return v.integer <= std::numeric_limits<uint32_t>::max();
    case MetaType::i8:
      return s >= std::numeric_limits<int8_t>::min() && s <= std::numeric_limits<int8_t>::max();
    case MetaType::i16:
      return s >= std::numeric_limits<int16_t>::min() && s <= std::numeric_limits<int16_t>::max();
    case MetaType::i32:
      return s >= std::numeric_limits<int32_t>::min() && s <= std::numeric_limits<int32_t>::max();
    default:
      return true;
  }
}

}  // namespace

Status put_value(ByteBuffer& out, const MetaValue& v, const std::string& where) {
  if (v.is_integer() && !fits(v))
    return usage_error(where + ": value " + (v.is_signed() ? std::to_string(v.as_i64()) : std::to_string(v.integer)) +
                       " does not fit in " + meta_type_name(v.type));
  switch (v.type) {
    case MetaType::u8:
      out.put(static_cast<uint8_t>(v.integer));
      break;
    case MetaType::i8:
      out.put(static_cast<int8_t>(v.as_i64()));
      break;
    case MetaType::u16:
      out.put(static_cast<uint16_t>(v.integer));
      break;
    case MetaType::i16:
      out.put(static_cast<int16_t>(v.as_i64()));
      break;
    case MetaType::u32:
      out.put(static_cast<uint32_t>(v.integer));
      break;
    case MetaType::i32:
      out.put(static_cast<int32_t>(v.as_i64()));
      break;
    case MetaType::u64:
      out.put(v.integer);
      break;
    case MetaType::i64:
      out.put(v.as_i64());
      break;
    case MetaType::boolean:
      out.put(static_cast<uint8_t>(v.integer != 0 ? 1 : 0));
      break;
    case MetaType::f32: {
      // The reader parks a NaN's exact bits in `integer`, since double cannot carry a
      // signalling NaN through; any other value narrows back exactly.
      const auto bits = static_cast<uint32_t>(v.integer);
      float stored = 0;
      std::memcpy(&stored, &bits, 4);
      if (std::isnan(v.real) && v.integer <= std::numeric_limits<uint32_t>::max() && std::isnan(stored))
        out.put(bits);
      else
        out.put(static_cast<float>(v.real));
      break;
    }
    case MetaType::f64:
      out.put(v.real);
      break;
    case MetaType::string:
      out.put_string(v.text);
      break;
    case MetaType::array: {
      out.put(static_cast<uint32_t>(value_type_of(v.element_type)));
      out.put<uint64_t>(v.elements.size());
      for (size_t i = 0; i < v.elements.size(); ++i) {
        const MetaValue& e = v.elements[i];
        if (e.type != v.element_type)
          return usage_error(where + ": array element " + std::to_string(i) + " is " + meta_type_name(e.type) +
                             " but the array holds " + meta_type_name(v.element_type));
        QF_RETURN_IF_ERROR(put_value(out, e, where));
      }
      break;
    }
  }
  return {};
}

}  // namespace quantflow::gguf
