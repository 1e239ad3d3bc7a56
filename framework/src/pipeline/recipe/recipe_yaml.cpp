#include "pipeline/recipe/recipe_yaml.hpp"
#include "pipeline/recipe/yaml_errors.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "core/units.hpp"

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

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// A plain (unquoted) scalar's text, or nullopt for quoted strings, which stay strings.
std::optional<std::string> plain_scalar(const YAML::Node& node) {
  if (!node.IsScalar() || node.Tag() == "!") return std::nullopt;
  return node.Scalar();
}

template <typename T>
bool parse_number(const std::string& text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

bool parse_real(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

struct IntegerRange {
  MetaType type;
  int64_t min;
  uint64_t max;
};

// Ranges of the integer metadata types, for checking typed values.
constexpr IntegerRange kIntegerRanges[] = {
    {MetaType::u8, 0, 0xff},
    {MetaType::i8, -128, 127},
    {MetaType::u16, 0, 0xffff},
    {MetaType::i16, -32768, 32767},
    {MetaType::u32, 0, 0xffffffffull},
    {MetaType::i32, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()},
    {MetaType::u64, 0, std::numeric_limits<uint64_t>::max()},
    {MetaType::i64, std::numeric_limits<int64_t>::min(), static_cast<uint64_t>(std::numeric_limits<int64_t>::max())},
};

Result<MetaValue> typed_scalar(const Cursor& cursor, MetaType type) {
  const YAML::Node& node = cursor.node();
  const std::string type_name = meta_type_name(type);
  if (!node.IsScalar())
    return recipe_error(cursor.mark(),
                        fmt::format("a {} value must be a scalar, not {}", type_name, describe_kind(node)));
  const std::string& text = node.Scalar();
  for (const auto& range : kIntegerRanges) {
    if (range.type != type) continue;
    int64_t signed_value = 0;
    uint64_t unsigned_value = 0;
    if (parse_number(text, unsigned_value) && unsigned_value <= range.max)
      return MetaValue::make_unsigned(type, unsigned_value);
    if (parse_number(text, signed_value) && signed_value >= range.min && signed_value < 0)
      return MetaValue::make_signed(type, signed_value);
    return recipe_error(cursor.mark(),
                        fmt::format("'{}' is not a {} (range {}..{})", text, type_name, range.min, range.max));
  }
  if (type == MetaType::f32 || type == MetaType::f64) {
    double value = 0;
    if (!parse_real(text, value)) return recipe_error(cursor.mark(), fmt::format("'{}' is not a number", text));
    return type == MetaType::f32 ? MetaValue::make_f32(static_cast<float>(value)) : MetaValue::make_f64(value);
  }
  if (type == MetaType::boolean) {
    QF_ASSIGN_OR_RETURN(bool value, cursor.as_bool());
    return MetaValue::make_bool(value);
  }
  return MetaValue::make_string(text);
}

// The type a plain scalar suggests: small non-negative integers are u32 (GGUF's counts),
// negative ones i32, wider ones 64-bit; decimals f32; true/false bool; the rest strings.
MetaValue inferred_scalar(const YAML::Node& node) {
  const auto plain = plain_scalar(node);
  if (!plain) return MetaValue::make_string(node.Scalar());
  const std::string& text = *plain;
  uint64_t u = 0;
  int64_t i = 0;
  double d = 0;
  if (parse_number(text, u))
    return u <= 0xffffffffull ? MetaValue::make_u32(static_cast<uint32_t>(u)) : MetaValue::make_u64(u);
  if (parse_number(text, i))
    return i >= std::numeric_limits<int32_t>::min() ? MetaValue::make_i32(static_cast<int32_t>(i))
                                                    : MetaValue::make_signed(MetaType::i64, i);
  if (text == "true" || text == "false") return MetaValue::make_bool(text == "true");
  if (parse_real(text, d)) return MetaValue::make_f32(static_cast<float>(d));
  return MetaValue::make_string(text);
}

Result<MetaValue> array_of(const Cursor& cursor, std::optional<MetaType> element_type) {
  QF_RETURN_IF_ERROR(cursor.require_sequence());
  std::vector<MetaValue> elements;
  for (size_t i = 0; i < cursor.node().size(); ++i) {
    const Cursor item = cursor.element(i, cursor.node()[i]);
    if (!item.node().IsScalar())
      return recipe_error(item.mark(), "metadata arrays hold scalars only, not " + describe_kind(item.node()));
    MetaValue value;
    if (element_type) {
      QF_ASSIGN_OR_RETURN(value, typed_scalar(item, *element_type));
    } else {
      value = inferred_scalar(item.node());
      // Mixed plain integers widen to the first element's type when they fit it.
      if (!elements.empty() && value.type != elements.front().type) {
        auto retyped = typed_scalar(item, elements.front().type);
        if (!retyped.ok())
          return recipe_error(item.mark(),
                              fmt::format("array elements must share one type: this is {}, the first is {} "
                                          "(write {{type: array, element_type: T, value: [...]}})",
                                          meta_type_name(value.type), meta_type_name(elements.front().type)));
        value = std::move(retyped).value();
      }
    }
    elements.push_back(std::move(value));
  }
  const MetaType type = element_type ? *element_type : elements.empty() ? MetaType::string : elements.front().type;
  return MetaValue::make_array(type, std::move(elements));
}

Result<MetaType> meta_type_at(const Cursor& cursor) {
  QF_ASSIGN_OR_RETURN(std::string name, cursor.as_string());
  MetaType type;
  if (!meta_type_from_name(name, type)) {
    std::vector<std::string> names;
    for (int i = 0; i <= static_cast<int>(MetaType::array); ++i)
      names.push_back(meta_type_name(static_cast<MetaType>(i)));
    return recipe_error(cursor.mark(),
                        fmt::format("unknown metadata type '{}' (expected one of: {})", name, join(names)));
  }
  return type;
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
  const std::string where = path_.empty() ? "the recipe" : "'" + path_ + "'";
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

Status apply_overrides(YAML::Node& root, const std::vector<RecipeOverride>& overrides) {
  for (const auto& o : overrides) {
    YAML::Node value;
    try {
      value = YAML::Load(o.value);
    } catch (const YAML::Exception& e) {
      return usage_error(fmt::format("--set {}={}:{}:{}: {}", o.key, o.value, e.mark.line + 1, e.mark.column + 1,
                                     yaml_error_message(e)));
    }
    YAML::Node parent = root;
    size_t start = 0;
    while (true) {
      const size_t dot = o.key.find('.', start);
      const std::string part = o.key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (part.empty()) return usage_error(fmt::format("--set {}: empty key component", o.key));
      size_t index = 0;
      const bool positional = parent.IsSequence() && parse_number(part, index);
      if (positional && index >= parent.size())
        return usage_error(
            fmt::format("--set {}: index {} is past the list's {} elements", o.key, index, parent.size()));
      if (!positional && !parent.IsMap() && !parent.IsNull())
        return usage_error(fmt::format("--set {}: '{}' is inside {}, not a map", o.key, part, describe_kind(parent)));
      if (dot == std::string::npos) {
        if (positional)
          parent[index] = value;
        else
          parent[part] = value;
        break;
      }
      YAML::Node next = positional ? parent[index] : parent[part];
      if (!next.IsDefined() || next.IsNull()) {
        next = YAML::Node(YAML::NodeType::Map);
        if (positional)
          parent[index] = next;
        else
          parent[part] = next;
      }
      parent.reset(next);
      start = dot + 1;
    }
  }
  return {};
}

Result<MetaValue> parse_meta_value(const Cursor& cursor) {
  const YAML::Node& node = cursor.node();
  if (node.IsSequence()) return array_of(cursor, std::nullopt);
  if (node.IsScalar()) return inferred_scalar(node);
  if (!node.IsMap()) return recipe_error(cursor.mark(), "a metadata value must be a scalar, a list or {type, value}");
  QF_RETURN_IF_ERROR(cursor.require_map({"type", "value", "element_type"}));
  if (!node["type"] || !node["value"])
    return recipe_error(cursor.mark(), "a typed metadata value needs both 'type' and 'value'");
  QF_ASSIGN_OR_RETURN(MetaType type, meta_type_at(cursor.child("type", node["type"])));
  const Cursor value = cursor.child("value", node["value"]);
  if (type == MetaType::array) {
    std::optional<MetaType> element_type;
    if (node["element_type"]) {
      QF_ASSIGN_OR_RETURN(element_type, meta_type_at(cursor.child("element_type", node["element_type"])));
      if (*element_type == MetaType::array)
        return recipe_error(cursor.child("element_type", node["element_type"]).mark(),
                            "nested arrays are not supported");
    }
    return array_of(value, element_type);
  }
  if (node["element_type"])
    return recipe_error(cursor.child("element_type", node["element_type"]).mark(),
                        "'element_type' applies to arrays only");
  return typed_scalar(value, type);
}

}  // namespace recipe_yaml
}  // namespace quantflow::pipeline
