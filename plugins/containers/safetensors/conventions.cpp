#include "conventions.hpp"

#include "container_kit/integer_range.hpp"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "dtypes.hpp"
#include "json_text.hpp"

namespace quantflow::safetensors {

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

// Bounds recursion on hostile input; real metadata nests arrays one or two levels deep.
constexpr int kMaxArrayDepth = 32;

// True when `j` nests no deeper than `levels`; bounded recursion, unlike dump().
bool shallow(const json& j, int levels) {
  if (!j.is_structured()) return true;
  if (levels == 0) return false;
  for (const auto& child : j)
    if (!shallow(child, levels - 1)) return false;
  return true;
}

// A JSON value for an error message, cut short so a hostile value cannot flood it (nor
// overflow the stack: dump() recurses once per nesting level).
std::string brief(const json& j) {
  if (!shallow(j, 4)) return j.is_array() ? "a deeply nested array" : "a deeply nested object";
  std::string text = j.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

Status check_utf8(std::string_view text, const std::string& key) {
  if (invalid_utf8_offset(text) != std::string_view::npos)
    return bad_input("metadata key '" + key +
                     "' holds a string that is not valid UTF-8, which a safetensors header cannot carry");
  return {};
}

Result<ordered_json> encode_float(double v) {
  if (std::isnan(v)) return ordered_json("nan");
  if (std::isinf(v)) return ordered_json(v > 0 ? "inf" : "-inf");
  return ordered_json(v);
}

Result<ordered_json> encode_value(const MetaValue& v, const std::string& key, int depth) {
  if (depth > kMaxArrayDepth) return bad_input("metadata key '" + key + "' nests arrays too deeply");
  switch (v.type) {
    case MetaType::f32:
    case MetaType::f64:
      return encode_float(v.real);
    case MetaType::boolean:
      return ordered_json(v.integer != 0);
    case MetaType::string:
      QF_RETURN_IF_ERROR(check_utf8(v.text, key));
      return ordered_json(v.text);
    case MetaType::array: {
      ordered_json items = ordered_json::array();
      for (const auto& e : v.elements) {
        if (e.type != v.element_type)
          return internal_error("metadata key '" + key + "': an array element's type differs from the array's");
        QF_ASSIGN_OR_RETURN(auto item, encode_value(e, key, depth + 1));
        items.push_back(std::move(item));
      }
      ordered_json obj = ordered_json::object();
      obj["elem"] = meta_type_name(v.element_type);
      obj["items"] = std::move(items);
      return obj;
    }
    default:
      if (v.is_signed()) return ordered_json(v.as_i64());
      return ordered_json(v.as_u64());
  }
}

Result<MetaValue> decode_value(MetaType type, const json& j, int depth) {
  const auto wrong = [&](const char* expected) {
    return bad_input(std::string("a ") + meta_type_name(type) + " value must be " + expected + ", found " + brief(j));
  };
  switch (type) {
    case MetaType::f32:
    case MetaType::f64: {
      double d = 0;
      if (j.is_number()) {
        d = j.get<double>();
      } else if (j.is_string() && j.get_ref<const std::string&>() == "nan") {
        d = std::numeric_limits<double>::quiet_NaN();
      } else if (j.is_string() && j.get_ref<const std::string&>() == "inf") {
        d = std::numeric_limits<double>::infinity();
      } else if (j.is_string() && j.get_ref<const std::string&>() == "-inf") {
        d = -std::numeric_limits<double>::infinity();
      } else {
        return wrong("a number or \"nan\", \"inf\", \"-inf\"");
      }
      return type == MetaType::f32 ? MetaValue::make_f32(static_cast<float>(d)) : MetaValue::make_f64(d);
    }
    case MetaType::boolean:
      if (!j.is_boolean()) return wrong("true or false");
      return MetaValue::make_bool(j.get<bool>());
    case MetaType::string:
      if (!j.is_string()) return wrong("a string");
      return MetaValue::make_string(j.get<std::string>());
    case MetaType::array: {
      if (depth >= kMaxArrayDepth) return bad_input("arrays nested too deeply");
      if (!j.is_object() || !j.contains("elem") || !j.contains("items") || !j["elem"].is_string() ||
          !j["items"].is_array())
        return wrong("{\"elem\": type, \"items\": [...]}");
      MetaType elem{};
      if (!meta_type_from_name(j["elem"].get_ref<const std::string&>(), elem))
        return bad_input("unknown array element type '" + j["elem"].get<std::string>() + "'");
      std::vector<MetaValue> items;
      items.reserve(j["items"].size());
      for (const auto& item : j["items"]) {
        QF_ASSIGN_OR_RETURN(auto v, decode_value(elem, item, depth + 1));
        items.push_back(std::move(v));
      }
      return MetaValue::make_array(elem, std::move(items));
    }
    default: {
      if (!j.is_number_integer()) return wrong("an integer");
      const container_kit::IntegerRange r = container_kit::integer_range(type);
      if (j.is_number_unsigned()) {
        const auto u = j.get<uint64_t>();
        if (u > r.max) return wrong("in range");
        return MetaValue::make_unsigned(type, u);
      }
      const auto s = j.get<int64_t>();
      if (!r.holds(s)) return wrong("in range");
      return MetaValue::make_signed(type, s);
    }
  }
}

Result<Metadata> decode_typed(const std::string& text, const std::map<std::string, std::string>& plain) {
  const std::string where = "__metadata__ key '" + std::string(kTypedMetadataKey) + "': ";
  json list;
  try {
    list = json::parse(text);
  } catch (const std::exception& e) {
    return bad_input(where + "not valid JSON: " + json_error_text(e.what()));
  }
  if (!list.is_array()) return bad_input(where + "not a JSON array");
  Metadata out;
  std::set<std::string> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& entry = list[i];
    const std::string at = where + "entry " + std::to_string(i) + ": ";
    if (!entry.is_array() || entry.size() < 2 || entry.size() > 3 || !entry[0].is_string() || !entry[1].is_string())
      return bad_input(at + "not a [key, type, value] triple");
    const auto& key = entry[0].get_ref<const std::string&>();
    MetaType type{};
    if (!meta_type_from_name(entry[1].get_ref<const std::string&>(), type))
      return bad_input(at + "unknown type '" + entry[1].get<std::string>() + "'");
    if (!seen.insert(key).second) return bad_input(at + "key '" + key + "' is listed twice");
    if (type == MetaType::string) {
      if (entry.size() != 2) return bad_input(at + "a string entry has no value (it lives under the plain key)");
      const auto it = plain.find(key);
      if (it == plain.end()) return bad_input(at + "string key '" + key + "' has no plain __metadata__ entry");
      out.append(key, MetaValue::make_string(it->second));
      continue;
    }
    if (entry.size() != 3) return bad_input(at + "missing the value of key '" + key + "'");
    auto value = decode_value(type, entry[2], 0);
    if (!value.ok()) return bad_input(at + "key '" + key + "': " + value.status().message());
    out.append(key, std::move(value).value());
  }
  for (const auto& [key, value] : plain)
    if (!seen.count(key)) out.append(key, MetaValue::make_string(value));
  return out;
}

}  // namespace

bool needs_typed_metadata(const Metadata& metadata) {
  const auto& entries = metadata.entries();
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].value.type != MetaType::string) return true;
    if (i > 0 && !(entries[i - 1].key < entries[i].key)) return true;
  }
  return false;
}

Result<std::string> encode_typed_metadata(const Metadata& metadata) {
  ordered_json list = ordered_json::array();
  for (const auto& e : metadata.entries()) {
    ordered_json entry = ordered_json::array();
    entry.push_back(e.key);
    entry.push_back(meta_type_name(e.value.type));
    if (e.value.type != MetaType::string) {
      QF_ASSIGN_OR_RETURN(auto v, encode_value(e.value, e.key, 0));
      entry.push_back(std::move(v));
    }
    list.push_back(std::move(entry));
  }
  try {
    return list.dump();
  } catch (const std::exception& e) {
    return internal_error(std::string("cannot encode typed metadata: ") + json_error_text(e.what()));
  }
}

Result<Metadata> decode_metadata(const std::string* typed, const std::map<std::string, std::string>& plain) {
  if (typed != nullptr) return decode_typed(*typed, plain);
  Metadata out;
  for (const auto& [key, value] : plain) out.append(key, MetaValue::make_string(value));
  return out;
}

std::string encode_tensor_info(const TensorInfo& tensor) {
  ordered_json j = ordered_json::object();
  j["dtype"] = tensor.dtype.name;
  j["shape"] = tensor.shape;
  j["block_elems"] = tensor.dtype.block_elems;
  j["block_bytes"] = tensor.dtype.block_bytes;
  // The writer has checked the name is UTF-8, so dump() cannot throw.
  return j.dump();
}

Result<LogicalTensor> decode_tensor_info(std::string_view text, uint64_t n_bytes) {
  const std::string where = "__metadata__ entry " + std::string(kTensorKeyPrefix) + "<name>: ";
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    return bad_input(where + "not valid JSON: " + json_error_text(e.what()));
  }
  const auto is_u32 = [](const json& v) {
    return v.is_number_unsigned() && v.get<uint64_t>() > 0 && v.get<uint64_t>() <= 0xFFFFFFFFu;
  };
  if (!j.is_object() || !j.contains("dtype") || !j["dtype"].is_string() ||
      j["dtype"].get_ref<const std::string&>().empty() || !j.contains("shape") || !j["shape"].is_array() ||
      !j.contains("block_elems") || !is_u32(j["block_elems"]) || !j.contains("block_bytes") ||
      !is_u32(j["block_bytes"]))
    return bad_input(where +
                     "expected {\"dtype\": name, \"shape\": [...], \"block_elems\": n, \"block_bytes\": n}, found " +
                     brief(j));
  LogicalTensor t;
  t.dtype.name = canonical_dtype_name(j["dtype"].get_ref<const std::string&>());
  t.dtype.block_elems = j["block_elems"].get<uint32_t>();
  t.dtype.block_bytes = j["block_bytes"].get<uint32_t>();
  for (const auto& d : j["shape"]) {
    if (!d.is_number_unsigned()) return bad_input(where + "shape is not an array of non-negative integers");
    t.shape.push_back(d.get<uint64_t>());
  }
  uint64_t elems = 0, bytes = 0;
  if (!checked_element_count(t.shape, elems) ||
      !checked_byte_count(elems, t.dtype.block_elems, t.dtype.block_bytes, bytes) || bytes != n_bytes)
    return bad_input(where + t.dtype.name + " with shape " + shape_to_string(t.shape) + " does not fill the " +
                     std::to_string(n_bytes) + " stored bytes");
  return t;
}

}  // namespace quantflow::safetensors

namespace quantflow::safetensors {

std::string encode_tensor_order(const std::vector<std::string>& names) { return nlohmann::json(names).dump(); }

Result<std::vector<std::string>> decode_tensor_order(const std::string& value) {
  const auto parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) return bad_input(std::string(kTensorOrderKey) + " is not a JSON array of tensor names");
  std::vector<std::string> names;
  names.reserve(parsed.size());
  for (const auto& item : parsed) {
    if (!item.is_string()) return bad_input(std::string(kTensorOrderKey) + " holds a value that is not a tensor name");
    names.push_back(item.get<std::string>());
  }
  return names;
}

}  // namespace quantflow::safetensors
