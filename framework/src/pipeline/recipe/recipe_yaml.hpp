// Reading typed values out of a yaml-cpp tree while remembering where each came from:
// the recipe file or a `--set` override (whose positions are within the override text).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "pipeline/recipe/recipe.hpp"

namespace quantflow::pipeline::recipe_yaml {

struct Origins {
  std::string file;      // the recipe as named on the command line
  std::string base_dir;  // relative paths in the file resolve against it
  std::vector<RecipeOverride> overrides;
  std::string document = "the recipe";  // what the root is called in messages
};

// A node plus its dotted path from the document root.
class Cursor {
 public:
  Cursor(YAML::Node node, std::string path, const Origins* origins)
      : node_(std::move(node)), path_(std::move(path)), origins_(origins) {}

  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  SourceMark mark() const { return mark_of(node_); }
  SourceMark mark_of(const YAML::Node& node) const;
  // The override that produced this node, or null when it comes from the file.
  const RecipeOverride* override_origin() const;
  // Resolves a path-valued string: file values against the recipe's directory.
  std::string resolve_path(const std::string& value) const;

  Cursor child(const std::string& key, const YAML::Node& node) const;
  Cursor element(size_t index, const YAML::Node& node) const;

  // Structural checks and scalar conversions; every failure names this node's position.
  Status require_map(const std::vector<std::string>& allowed_keys) const;
  Status require_sequence() const;
  Result<std::string> as_string() const;
  Result<uint64_t> as_unsigned() const;
  Result<uint64_t> as_size() const;  // 123, "512M", "2G"
  Result<bool> as_bool() const;

 private:
  YAML::Node node_;
  std::string path_;
  const Origins* origins_;
};

// The YAML kind of a node for messages: "a map", "a list", "a scalar", "null".
std::string describe_kind(const YAML::Node& node);

// Applies `key=value` overrides to the document (creating maps along the dotted path).
Status apply_overrides(YAML::Node& root, const std::vector<RecipeOverride>& overrides);

// A metadata value: a plain scalar or list (type inferred) or {type: T, value: V}.
Result<MetaValue> parse_meta_value(const Cursor& cursor);

}  // namespace quantflow::pipeline::recipe_yaml
