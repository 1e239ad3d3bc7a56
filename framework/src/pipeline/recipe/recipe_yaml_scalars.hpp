// Text helpers shared by recipe_yaml's files: plain scalars, exact numbers, comma-joined lists.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace quantflow::pipeline::recipe_yaml {

inline std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// A plain (unquoted) scalar's text, or nullopt for quoted strings, which stay strings.
inline std::optional<std::string> plain_scalar(const YAML::Node& node) {
  if (!node.IsScalar() || node.Tag() == "!") return std::nullopt;
  return node.Scalar();
}

// The whole text is one number of type T.
template <typename T>
bool parse_number(const std::string& text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

}  // namespace quantflow::pipeline::recipe_yaml
