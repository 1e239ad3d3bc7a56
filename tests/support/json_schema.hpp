// A small JSON Schema (draft 7) checker for the subset quantflow's schemas use: type, enum,
// required, properties, additionalProperties, items, anyOf/oneOf and local $refs. No Debian
// package offers a C++ validator, and the tests need only this much.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

namespace qf_test {

using json = nlohmann::json;

inline json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (auto it = node.begin(); it != node.end(); ++it) out[it->first.Scalar()] = yaml_to_json(it->second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(yaml_to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") return s;
      int64_t i = 0;
      if (auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
          ec == std::errc() && p == s.data() + s.size())
        return i;
      if (s == "true" || s == "false") return s == "true";
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size()) return d;
      return s;
    }
    default:
      return nullptr;
  }
}

inline bool has_type(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  return false;
}

// Returns "" when `value` conforms, else the path and reason of the first violation.
inline std::string check_schema(const json& schema, const json& value, const json& root, const std::string& path) {
  if (schema.contains("$ref")) {
    const std::string ref = schema["$ref"];
    return check_schema(root["definitions"][ref.substr(ref.rfind('/') + 1)], value, root, path);
  }
  if (schema.contains("type")) {
    bool ok = false;
    if (schema["type"].is_array()) {
      for (const auto& t : schema["type"]) ok = ok || has_type(value, t);
    } else {
      ok = has_type(value, schema["type"]);
    }
    if (!ok) return path + ": expected type " + schema["type"].dump();
  }
  if (schema.contains("enum") && std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end())
    return path + ": " + value.dump() + " is not one of " + schema["enum"].dump();
  for (const char* combinator : {"anyOf", "oneOf"}) {
    if (!schema.contains(combinator)) continue;
    size_t passed = 0;
    for (const auto& alternative : schema[combinator]) passed += check_schema(alternative, value, root, path).empty();
    if (passed == 0 || (std::string(combinator) == "oneOf" && passed > 1))
      return path + ": " + std::to_string(passed) + " alternatives of " + combinator + " match";
  }
  if (value.is_object()) {
    for (const auto& key : schema.value("required", json::array()))
      if (!value.contains(key.get<std::string>())) return path + ": missing " + key.dump();
    for (const auto& [key, item] : value.items()) {
      const std::string at = path + "." + key;
      if (schema.contains("properties") && schema["properties"].contains(key)) {
        if (auto e = check_schema(schema["properties"][key], item, root, at); !e.empty()) return e;
      } else if (schema.contains("additionalProperties")) {
        const json& extra = schema["additionalProperties"];
        if (extra.is_boolean() && !extra.get<bool>()) return at + ": not allowed";
        if (extra.is_object())
          if (auto e = check_schema(extra, item, root, at); !e.empty()) return e;
      }
    }
  }
  if (value.is_array() && schema.contains("items"))
    for (size_t i = 0; i < value.size(); ++i)
      if (auto e = check_schema(schema["items"], value[i], root, path + "[" + std::to_string(i) + "]"); !e.empty())
        return e;
  return "";
}

}  // namespace qf_test
