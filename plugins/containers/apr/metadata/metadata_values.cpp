#include "metadata/metadata_values.hpp"

#include "container_kit/integer_range.hpp"

#include <cmath>
#include <limits>

#include "metadata/json_text.hpp"
#include "quantflow/utf8.hpp"

namespace quantflow::apr {

namespace {

Status bad_type(const std::string& what, const char* expected, const Json& node) {
  return bad_input(what + " must be " + expected + ", found " + describe(node));
}

std::optional<double> non_finite(const Json& node) {
  if (!node.is_string()) return std::nullopt;
  const auto& s = node.get_ref<const std::string&>();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  return std::nullopt;
}

const char* non_finite_text(double v) { return std::isnan(v) ? "\"nan\"" : v > 0 ? "\"inf\"" : "\"-inf\""; }

// The common default type of inferred array elements, or nullopt when they disagree.
std::optional<MetaType> common_type(const std::vector<MetaValue>& items) {
  bool any_float = false, any_negative = false, any_big = false, all_numbers = true;
  for (const auto& v : items) {
    if (v.type == MetaType::f64)
      any_float = true;
    else if (v.type == MetaType::i64)
      any_negative = true;
    else if (v.type == MetaType::u64)
      any_big = any_big || v.integer > uint64_t(std::numeric_limits<int64_t>::max());
    else
      all_numbers = false;
  }
  if (all_numbers && !items.empty()) {
    if (any_float) return MetaType::f64;
    if (any_negative) return any_big ? std::nullopt : std::optional(MetaType::i64);
    return MetaType::u64;
  }
  for (const auto& v : items)
    if (v.type != items.front().type) return std::nullopt;
  return items.empty() ? MetaType::string : items.front().type;
}

MetaValue convert_number(const MetaValue& v, MetaType to) {
  if (v.type == to) return v;
  if (to == MetaType::f64)
    return MetaValue::make_f64(v.type == MetaType::i64 ? static_cast<double>(v.as_i64())
                                                       : static_cast<double>(v.integer));
  return MetaValue::make_signed(MetaType::i64, v.as_i64());  // u64 below 2^63 -> i64
}

}  // namespace

std::string describe(const Json& node) {
  std::string text;
  if (!append_json(text, node, 4)) return node.is_array() ? "a deeply nested array" : "a deeply nested object";
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

Result<MetaValue> decode_field(const Json& node, FieldKind kind, const std::string& what) {
  switch (kind) {
    case FieldKind::string:
      if (!node.is_string()) return bad_type(what, "a string", node);
      return MetaValue::make_string(node.get<std::string>());
    case FieldKind::u64:
    case FieldKind::u32: {
      if (!node.is_number_unsigned()) return bad_type(what, "a non-negative integer", node);
      const auto v = node.get<uint64_t>();
      if (kind == FieldKind::u32 && v <= 0xFFFFFFFFu) return MetaValue::make_u32(static_cast<uint32_t>(v));
      return MetaValue::make_u64(v);
    }
    case FieldKind::f32: {
      if (!node.is_number()) return bad_type(what, "a number", node);
      const float f = f32_from_json(node.get<double>());
      if (!std::isfinite(f)) return bad_input(what + " " + describe(node) + " is out of the f32 range");
      return MetaValue::make_f32(f);
    }
    case FieldKind::boolean:
      if (!node.is_boolean()) return bad_type(what, "true or false", node);
      return MetaValue::make_bool(node.get<bool>());
    case FieldKind::object:
      break;
  }
  return internal_error(what + ": an object is not a scalar field");
}

void append_field(std::string& out, const MetaValue& v, FieldKind kind) {
  switch (kind) {
    case FieldKind::string:
      append_json_string(out, v.text);
      return;
    case FieldKind::u64:
    case FieldKind::u32:
      out += std::to_string(v.integer);
      return;
    case FieldKind::f32:
      out += v.type == MetaType::f32 ? format_f32(static_cast<float>(v.real)) : format_f64(v.real);
      return;
    case FieldKind::boolean:
      out += v.integer ? "true" : "false";
      return;
    case FieldKind::object:
      return;
  }
}

std::optional<MetaValue> infer_value(const Json& node, int depth) {
  switch (node.type()) {
    case Json::value_t::string:
      return MetaValue::make_string(node.get<std::string>());
    case Json::value_t::boolean:
      return MetaValue::make_bool(node.get<bool>());
    case Json::value_t::number_unsigned:
      return MetaValue::make_u64(node.get<uint64_t>());
    case Json::value_t::number_integer:
      return MetaValue::make_signed(MetaType::i64, node.get<int64_t>());
    case Json::value_t::number_float:
      return MetaValue::make_f64(node.get<double>());
    case Json::value_t::array: {
      if (depth >= kMaxDepth) return std::nullopt;
      std::vector<MetaValue> items;
      items.reserve(node.size());
      for (const auto& item : node) {
        auto v = infer_value(item, depth + 1);
        if (!v) return std::nullopt;
        items.push_back(std::move(*v));
      }
      const auto type = common_type(items);
      if (!type) return std::nullopt;
      if (*type == MetaType::f64 || *type == MetaType::i64)
        for (auto& v : items) v = convert_number(v, *type);
      return MetaValue::make_array(*type, std::move(items));
    }
    default:
      return std::nullopt;
  }
}

Status append_value(std::string& out, const MetaValue& v, const std::string& key, int depth) {
  switch (v.type) {
    case MetaType::string:
      if (invalid_utf8_offset(v.text) != std::string_view::npos)
        return bad_input("metadata key '" + key +
                         "' holds a string that is not valid UTF-8, which APR's JSON metadata cannot carry");
      append_json_string(out, v.text);
      return {};
    case MetaType::boolean:
      out += v.integer ? "true" : "false";
      return {};
    case MetaType::f32:
      out += std::isfinite(v.real) ? format_f32_as_f64(static_cast<float>(v.real)) : non_finite_text(v.real);
      return {};
    case MetaType::f64:
      out += std::isfinite(v.real) ? format_f64(v.real) : non_finite_text(v.real);
      return {};
    case MetaType::array: {
      if (depth >= kMaxDepth) return bad_input("metadata key '" + key + "' nests arrays too deeply");
      out += '[';
      for (size_t i = 0; i < v.elements.size(); ++i) {
        if (v.elements[i].type != v.element_type)
          return internal_error("metadata key '" + key + "': an array element's type differs from the array's");
        if (i) out += ',';
        QF_RETURN_IF_ERROR(append_value(out, v.elements[i], key, depth + 1));
      }
      out += ']';
      return {};
    }
    default:
      out += v.is_signed() ? std::to_string(v.as_i64()) : std::to_string(v.as_u64());
      return {};
  }
}

Json type_descriptor(const MetaValue& v) {
  if (v.type != MetaType::array) return meta_type_name(v.type);
  Json desc = Json::object();
  desc["elem"] = meta_type_name(v.element_type);
  if (v.element_type == MetaType::array) {
    Json items = Json::array();
    for (const auto& e : v.elements) items.push_back(type_descriptor(e));
    desc["items"] = std::move(items);
  }
  return desc;
}

Result<MetaValue> decode_typed(const Json& node, const Json& desc, int depth) {
  if (depth > kMaxDepth) return bad_input("arrays nested too deeply");
  if (desc.is_object()) {
    const auto elem = desc.find("elem");
    MetaType elem_type{};
    if (elem == desc.end() || !elem->is_string() ||
        !meta_type_from_name(elem->get_ref<const std::string&>(), elem_type))
      return bad_input("an array's type must be {\"elem\": type}, found " + describe(desc));
    if (!node.is_array()) return bad_input("expected an array, found " + describe(node));
    const auto items = desc.find("items");
    if (elem_type == MetaType::array && (items == desc.end() || !items->is_array() || items->size() != node.size()))
      return bad_input("an array of arrays needs one \"items\" type per element");
    std::vector<MetaValue> values;
    values.reserve(node.size());
    for (size_t i = 0; i < node.size(); ++i) {
      const Json item_desc = elem_type == MetaType::array ? (*items)[i] : Json(meta_type_name(elem_type));
      if (elem_type == MetaType::array && !item_desc.is_object())
        return bad_input("an array of arrays lists an element type that is not an array");
      QF_ASSIGN_OR_RETURN(auto v, decode_typed(node[i], item_desc, depth + 1));
      values.push_back(std::move(v));
    }
    return MetaValue::make_array(elem_type, std::move(values));
  }
  MetaType type{};
  if (!desc.is_string() || !meta_type_from_name(desc.get_ref<const std::string&>(), type) || type == MetaType::array)
    return bad_input("unknown type " + describe(desc));
  const auto wrong = [&](const char* expected) {
    return bad_input(std::string("a ") + meta_type_name(type) + " value must be " + expected + ", found " +
                     describe(node));
  };
  switch (type) {
    case MetaType::f32:
    case MetaType::f64: {
      double d = 0;
      if (node.is_number())
        d = node.get<double>();
      else if (const auto special = non_finite(node))
        d = *special;
      else
        return wrong("a number or \"nan\", \"inf\", \"-inf\"");
      if (type == MetaType::f64) return MetaValue::make_f64(d);
      return MetaValue::make_f32(std::isfinite(d) ? f32_from_json(d) : static_cast<float>(d));
    }
    case MetaType::boolean:
      if (!node.is_boolean()) return wrong("true or false");
      return MetaValue::make_bool(node.get<bool>());
    case MetaType::string:
      if (!node.is_string()) return wrong("a string");
      return MetaValue::make_string(node.get<std::string>());
    default: {
      if (!node.is_number_integer()) return wrong("an integer");
      const container_kit::IntegerRange r = container_kit::integer_range(type);
      if (node.is_number_unsigned()) {
        const auto u = node.get<uint64_t>();
        if (u > r.max) return wrong("in range");
        return MetaValue::make_unsigned(type, u);
      }
      const auto s = node.get<int64_t>();
      if (!r.holds(s)) return wrong("in range");
      return MetaValue::make_signed(type, s);
    }
  }
}

}  // namespace quantflow::apr
