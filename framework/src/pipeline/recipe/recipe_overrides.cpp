// `--set KEY=VALUE` overrides: parsing the argument and applying it to the recipe document.
#include <fmt/format.h>

#include "pipeline/recipe/recipe.hpp"
#include "pipeline/recipe/recipe_yaml.hpp"
#include "pipeline/recipe/recipe_yaml_scalars.hpp"
#include "pipeline/recipe/yaml_errors.hpp"

namespace quantflow::pipeline {

Result<RecipeOverride> parse_override(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    return usage_error(fmt::format("--set '{}' must be KEY=VALUE (e.g. output.path=out.gguf)", text));
  return RecipeOverride{text.substr(0, eq), text.substr(eq + 1)};
}

namespace recipe_yaml {

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

}  // namespace recipe_yaml
}  // namespace quantflow::pipeline
