#include "core/metadata_format.hpp"

#include <cmath>

#include <fmt/format.h>

namespace quantflow::core {

namespace {

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20)
          out += fmt::format("\\x{:02x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string format_scalar(const MetaValue& v) {
  switch (v.type) {
    case MetaType::f32:
    case MetaType::f64:
      return fmt::format("{}", v.real);
    case MetaType::boolean:
      return v.integer ? "true" : "false";
    case MetaType::string:
      return quote(v.text);
    default:
      return v.is_signed() ? std::to_string(v.as_i64()) : std::to_string(v.integer);
  }
}

}  // namespace

std::string meta_type_label(const MetaValue& value) {
  if (value.type != MetaType::array) return meta_type_name(value.type);
  if (value.element_type == MetaType::array && !value.elements.empty())
    return "array<" + meta_type_label(value.elements.front()) + ">";
  return std::string("array<") + meta_type_name(value.element_type) + ">";
}

std::string format_meta_value(const MetaValue& value, size_t max_elements) {
  if (value.type != MetaType::array) return format_scalar(value);
  std::string out = "[";
  const size_t shown = std::min(max_elements, value.elements.size());
  for (size_t i = 0; i < shown; ++i) {
    if (i) out += ", ";
    out += format_meta_value(value.elements[i], max_elements);
  }
  if (shown < value.elements.size()) out += fmt::format(", ... ({} total)", value.elements.size());
  return out + "]";
}

nlohmann::json meta_value_to_json(const MetaValue& value, size_t max_elements) {
  switch (value.type) {
    case MetaType::f32:
    case MetaType::f64:
      if (!std::isfinite(value.real)) return fmt::format("{}", value.real);
      return value.real;
    case MetaType::boolean:
      return value.integer != 0;
    case MetaType::string:
      return value.text;
    case MetaType::array: {
      nlohmann::json items = nlohmann::json::array();
      const size_t shown = std::min(max_elements, value.elements.size());
      for (size_t i = 0; i < shown; ++i) items.push_back(meta_value_to_json(value.elements[i], max_elements));
      if (shown == value.elements.size()) return items;
      return {{"count", value.elements.size()}, {"head", items}};
    }
    default:
      if (value.is_signed()) return value.as_i64();
      return value.integer;
  }
}

}  // namespace quantflow::core
