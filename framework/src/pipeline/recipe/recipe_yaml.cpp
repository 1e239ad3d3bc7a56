// Cursor: typed, position-aware reads from the recipe's YAML tree; SourceMark and recipe_error.
#include "pipeline/recipe/recipe_yaml.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "core/units.hpp"
#include "pipeline/recipe/recipe_yaml_scalars.hpp"

namespace quantflow::pipeline {

std::string SourceMark::to_string() const {
  if (line <= 0) return origin;
  return fmt::format("{}:{}:{}", origin, line, column);
}

Status recipe_error(const SourceMark& mark, const std::string& message) {
  return usage_error(mark.to_string() + ": " + message);
}

namespace recipe_yaml {

namespace {

bool path_within(const std::string& path, const std::string& prefix) {
  if (path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '.';
}

}  // namespace

std::string describe_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

const RecipeOverride* Cursor::override_origin() const {
  // The last override wins, as it was applied last.
  for (auto it = origins_->overrides.rbegin(); it != origins_->overrides.rend(); ++it)
    if (path_within(path_, it->key)) return &*it;
  return nullptr;
}

SourceMark Cursor::mark_of(const YAML::Node& node) const {
  SourceMark mark;
  const YAML::Mark m = node.Mark();
  const bool known = !m.is_null() && !(m.pos == 0 && m.line == 0 && m.column == 0 && node.IsNull());
  if (const RecipeOverride* o = override_origin()) {
    mark.origin = fmt::format("--set {}={}", o->key, o->value);
    // Positions inside the override's own value; created parents have none.
    if (known && path_ != o->key) {
      mark.line = m.line + 1;
      mark.column = m.column + 1;
    }
    return mark;
  }
  mark.origin = origins_->file;
  if (known) {
    mark.line = m.line + 1;
    mark.column = m.column + 1;
  }
  return mark;
}

std::string Cursor::resolve_path(const std::string& value) const {
  if (value.empty() || override_origin() != nullptr || std::filesystem::path(value).is_absolute()) return value;
  if (origins_->base_dir.empty()) return value;
  return (std::filesystem::path(origins_->base_dir) / value).lexically_normal().string();
}

Cursor Cursor::child(const std::string& key, const YAML::Node& node) const {
  return Cursor(node, path_.empty() ? key : path_ + "." + key, origins_);
}

Cursor Cursor::element(size_t index, const YAML::Node& node) const {
  return Cursor(node, path_ + "." + std::to_string(index), origins_);
}

Status Cursor::require_map(const std::vector<std::string>& allowed_keys) const {
  const std::string where = path_.empty() ? origins_->document : "'" + path_ + "'";
  if (!node_.IsMap()) return recipe_error(mark(), fmt::format("{} must be a map, not {}", where, describe_kind(node_)));
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const Cursor key = child(it->first.Scalar(), it->first);
    if (!it->first.IsScalar()) return recipe_error(key.mark(), "map keys must be scalars");
    bool known = false;
    for (const auto& k : allowed_keys) known = known || k == it->first.Scalar();
    if (!known)
      return recipe_error(key.mark(), fmt::format("unknown key '{}' in {} (expected one of: {})", it->first.Scalar(),
                                                  where, join(allowed_keys)));
  }
  return {};
}

Status Cursor::require_sequence() const {
  if (!node_.IsSequence())
    return recipe_error(mark(), fmt::format("'{}' must be a list, not {}", path_, describe_kind(node_)));
  return {};
}

Result<std::string> Cursor::as_string() const {
  if (!node_.IsScalar())
    return recipe_error(mark(), fmt::format("'{}' must be a string, not {}", path_, describe_kind(node_)));
  return node_.Scalar();
}

Result<uint64_t> Cursor::as_unsigned() const {
  uint64_t value = 0;
  if (!node_.IsScalar() || !parse_number(node_.Scalar(), value))
    return recipe_error(mark(), fmt::format("'{}' must be a non-negative integer, not {}", path_,
                                            node_.IsScalar() ? "'" + node_.Scalar() + "'" : describe_kind(node_)));
  return value;
}

Result<uint64_t> Cursor::as_size() const {
  if (!node_.IsScalar())
    return recipe_error(mark(), fmt::format("'{}' must be a size such as 2G, not {}", path_, describe_kind(node_)));
  auto size = core::parse_size(node_.Scalar());
  if (!size.ok()) return recipe_error(mark(), size.status().message());
  return *size;
}

Result<bool> Cursor::as_bool() const {
  const auto text = plain_scalar(node_);
  if (text == "true") return true;
  if (text == "false") return false;
  return recipe_error(mark(), fmt::format("'{}' must be true or false", path_));
}

}  // namespace recipe_yaml
}  // namespace quantflow::pipeline
