// Parses the recipe's `tensors:` list into TensorRule records (tensor_rules does the matching).
#include <charconv>
#include <sstream>

#include <fmt/format.h>

#include "pipeline/recipe/recipe_fields.hpp"
#include "pipeline/recipe/recipe_sections.hpp"

namespace quantflow::pipeline::recipe_parse {

namespace {

// "3", "0-3", "0-3,8,10-11" -> inclusive ranges.
Status parse_layer_ranges(const Cursor& at, const std::string& text,
                          std::vector<std::pair<uint64_t, uint64_t>>& ranges) {
  std::stringstream parts(text);
  std::string part;
  while (std::getline(parts, part, ',')) {
    while (!part.empty() && part.front() == ' ') part.erase(0, 1);
    while (!part.empty() && part.back() == ' ') part.pop_back();
    const size_t dash = part.find('-');
    const std::string lo_text = part.substr(0, dash);
    const std::string hi_text = dash == std::string::npos ? lo_text : part.substr(dash + 1);
    uint64_t lo = 0, hi = 0;
    auto number = [](const std::string& s, uint64_t& v) {
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      return ec == std::errc() && p == s.data() + s.size() && !s.empty();
    };
    if (!number(lo_text, lo) || !number(hi_text, hi) || hi < lo)
      return recipe_error(at.mark(), fmt::format("'{}' is not a layer or layer range such as 0-3", part));
    ranges.emplace_back(lo, hi);
  }
  if (ranges.empty()) return recipe_error(at.mark(), "'layers' names no layer");
  return {};
}

Result<RuleAction> action_of(const std::string& type) {
  if (type == "keep") return RuleAction::keep;
  if (type == "skip") return RuleAction::skip;
  return RuleAction::encode;
}

}  // namespace

Status parse_rule(const Cursor& at, TensorRule& rule) {
  QF_RETURN_IF_ERROR(at.require_map(
      {"name", "glob", "regex", "layers", "shape", "dims", "min_elements", "max_elements", "row_multiple_of", "type"}));
  rule.mark = at.mark();
  if (!at.node()["type"]) return recipe_error(at.mark(), "a tensor rule needs 'type': keep, skip or an encoding name");
  return for_each_key(at, [&](const std::string& key, const Cursor& value, const Cursor&) -> Status {
    if (key == "name") {
      QF_ASSIGN_OR_RETURN(rule.name, string_at(value));
    } else if (key == "glob") {
      QF_ASSIGN_OR_RETURN(rule.glob, string_at(value));
    } else if (key == "regex") {
      QF_ASSIGN_OR_RETURN(rule.regex, string_at(value));
    } else if (key == "dims") {
      QF_ASSIGN_OR_RETURN(rule.dims, unsigned_at(value));
    } else if (key == "min_elements") {
      QF_ASSIGN_OR_RETURN(rule.min_elements, unsigned_at(value));
    } else if (key == "max_elements") {
      QF_ASSIGN_OR_RETURN(rule.max_elements, unsigned_at(value));
    } else if (key == "row_multiple_of") {
      QF_ASSIGN_OR_RETURN(rule.row_multiple_of, unsigned_at(value));
      if (rule.row_multiple_of->value == 0) return recipe_error(value.mark(), "'row_multiple_of' must be positive");
    } else if (key == "layers") {
      Marked<std::vector<std::pair<uint64_t, uint64_t>>> ranges{{}, value.mark()};
      if (value.node().IsSequence()) {
        for (size_t i = 0; i < value.node().size(); ++i) {
          const Cursor item = value.element(i, value.node()[i]);
          QF_ASSIGN_OR_RETURN(std::string text, item.as_string());
          QF_RETURN_IF_ERROR(parse_layer_ranges(item, text, ranges.value));
        }
      } else {
        QF_ASSIGN_OR_RETURN(std::string text, value.as_string());
        if (text == "use_more_bits") {
          rule.layers_use_more_bits = true;
          return {};
        }
        QF_RETURN_IF_ERROR(parse_layer_ranges(value, text, ranges.value));
      }
      rule.layers = std::move(ranges);
    } else if (key == "shape") {
      QF_RETURN_IF_ERROR(value.require_sequence());
      Marked<std::vector<std::optional<uint64_t>>> shape{{}, value.mark()};
      for (size_t i = 0; i < value.node().size(); ++i) {
        const Cursor item = value.element(i, value.node()[i]);
        if (item.node().IsScalar() && (item.node().Scalar() == "*" || item.node().IsNull())) {
          shape.value.push_back(std::nullopt);
          continue;
        }
        QF_ASSIGN_OR_RETURN(uint64_t extent, item.as_unsigned());
        shape.value.push_back(extent);
      }
      rule.shape = std::move(shape);
    } else {
      QF_ASSIGN_OR_RETURN(rule.type, string_at(value));
      QF_ASSIGN_OR_RETURN(rule.action, action_of(rule.type.value));
    }
    return {};
  });
}

}  // namespace quantflow::pipeline::recipe_parse
