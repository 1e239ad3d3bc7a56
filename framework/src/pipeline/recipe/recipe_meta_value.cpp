// Metadata values in a recipe (`metadata.set`): inferred from plain YAML or given as {type, value}.
#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include "pipeline/recipe/recipe_yaml.hpp"
#include "pipeline/recipe/recipe_yaml_scalars.hpp"

namespace quantflow::pipeline::recipe_yaml {

namespace {

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

}  // namespace quantflow::pipeline::recipe_yaml
