#include "pipeline/recipe/recipe_preset.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "pipeline/llama/preset.hpp"
#include "pipeline/recipe/recipe_sections.hpp"
#include "pipeline/recipe/recipe_yaml.hpp"

namespace quantflow::pipeline {

namespace {

SourceMark mark_of(const Recipe& recipe, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  if (m.is_null()) return recipe.preset_options_mark;
  return SourceMark{recipe.file, m.line + 1, m.column + 1};
}

Status expect_scalar(const Recipe& recipe, const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar())
    return recipe_error(mark_of(recipe, node), fmt::format("'preset_options.{}' must be a scalar", key));
  return {};
}

Result<bool> flag(const Recipe& recipe, const YAML::Node& node, const std::string& key) {
  QF_RETURN_IF_ERROR(expect_scalar(recipe, node, key));
  if (node.Scalar() == "true") return true;
  if (node.Scalar() == "false") return false;
  return recipe_error(mark_of(recipe, node), fmt::format("'preset_options.{}' must be true or false", key));
}

// A map of KEY: VALUE strings, in document order.
Result<std::vector<std::pair<std::string, std::string>>> pairs(const Recipe& recipe, const YAML::Node& node,
                                                               const std::string& key) {
  if (!node.IsMap())
    return recipe_error(mark_of(recipe, node), fmt::format("'preset_options.{}' must be a map of KEY: VALUE", key));
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = node.begin(); it != node.end(); ++it) {
    QF_RETURN_IF_ERROR(expect_scalar(recipe, it->second, key + "." + it->first.Scalar()));
    out.emplace_back(it->first.Scalar(), it->second.Scalar());
  }
  return out;
}

// The option keys and how each lands in PresetOptions: a table, not a chain of ifs.
struct OptionField {
  const char* key;
  bool PresetOptions::*flag = nullptr;
  std::string PresetOptions::*text = nullptr;
  std::vector<std::pair<std::string, std::string>> PresetOptions::*map = nullptr;
};

const OptionField kOptionFields[] = {
    {"pure", &PresetOptions::pure},
    {"leave_output_tensor", &PresetOptions::leave_output_tensor},
    {"allow_requantize", &PresetOptions::allow_requantize},
    {"output_tensor_type", nullptr, &PresetOptions::output_tensor_type},
    {"token_embedding_type", nullptr, &PresetOptions::token_embedding_type},
    {"tensor_types", nullptr, nullptr, &PresetOptions::tensor_types},
    {"override_kv", nullptr, nullptr, &PresetOptions::override_kv},
};

Result<PresetOptions> preset_options(const Recipe& recipe) {
  PresetOptions options;
  options.has_imatrix = !recipe.imatrix.value.empty();
  if (!recipe.preset_options.IsMap()) return options;
  for (auto it = recipe.preset_options.begin(); it != recipe.preset_options.end(); ++it) {
    const std::string key = it->first.Scalar();
    const OptionField* field = nullptr;
    for (const auto& f : kOptionFields)
      if (key == f.key) field = &f;
    if (field == nullptr) {
      std::string known;
      for (const auto& f : kOptionFields) known += (known.empty() ? "" : ", ") + std::string(f.key);
      return recipe_error(mark_of(recipe, it->first),
                          fmt::format("unknown key '{}' in 'preset_options' (expected one of: {})", key, known));
    }
    if (field->flag) {
      QF_ASSIGN_OR_RETURN(options.*(field->flag), flag(recipe, it->second, key));
    } else if (field->text) {
      QF_RETURN_IF_ERROR(expect_scalar(recipe, it->second, key));
      options.*(field->text) = it->second.Scalar();
    } else {
      QF_ASSIGN_OR_RETURN(options.*(field->map), pairs(recipe, it->second, key));
    }
  }
  return options;
}

// A recipe preset's `tensors:`, parsed as a recipe's with positions in the preset file.
Result<std::vector<TensorRule>> preset_tensor_rules(const Preset& preset) {
  const recipe_yaml::Origins origins{preset.source_path, std::filesystem::path(preset.source_path).parent_path(), {}};
  const recipe_yaml::Cursor tensors(preset.tensor_rules, "tensors", &origins);
  std::vector<TensorRule> rules(preset.tensor_rules.size());
  for (size_t i = 0; i < rules.size(); ++i)
    QF_RETURN_IF_ERROR(recipe_parse::parse_rule(tensors.element(i, preset.tensor_rules[i]), rules[i]));
  return rules;
}

}  // namespace

Status validate_recipe_preset(const Recipe& recipe) {
  if (recipe.preset.value.empty()) {
    if (recipe.preset_options.IsMap())
      return recipe_error(recipe.preset_options_mark, "'preset_options' without 'preset'");
    return {};
  }
  auto preset = load_preset(recipe.preset.value);
  if (!preset.ok()) return recipe_error(recipe.preset.mark, preset.status().to_string());
  if (preset->is_recipe_preset()) return expand_recipe_preset(recipe).take_status();
  return preset_options(recipe).take_status();
}

Result<Recipe> expand_recipe_preset(const Recipe& recipe) {
  if (recipe.preset.value.empty()) return recipe;
  auto preset = load_preset(recipe.preset.value);
  if (!preset.ok()) return recipe_error(recipe.preset.mark, preset.status().to_string());
  if (!preset->is_recipe_preset()) return recipe;
  if (recipe.preset_options.IsMap())
    return recipe_error(recipe.preset_options_mark,
                        fmt::format("'preset_options' are llama-quantize's switches; {} is a recipe preset (write "
                                    "rules under 'tensors' instead)",
                                    preset->name));
  QF_ASSIGN_OR_RETURN(std::vector<TensorRule> rules, preset_tensor_rules(*preset));
  Recipe out = recipe;
  out.rules.insert(out.rules.end(), std::make_move_iterator(rules.begin()), std::make_move_iterator(rules.end()));
  if (out.default_type.value.empty()) out.default_type = {preset->default_type, SourceMark{preset->source_path, 0, 0}};
  if (out.protected_type.value.empty())
    out.protected_type = {preset->protected_type, SourceMark{preset->source_path, 0, 0}};
  out.preset = {};
  out.preset_rules_file = preset->source_path;
  return out;
}

Recipe recipe_for_preset(const Preset& preset, const std::string& input, const std::string& output, bool pure,
                         const std::vector<std::pair<std::string, std::string>>& tensor_types) {
  const SourceMark command_line{"the command line", 0, 0};
  Recipe recipe;
  recipe.file = preset.source_path;
  recipe.inputs = {{input, command_line}};
  recipe.output.path = {output, command_line};
  for (const auto& [pattern, type] : tensor_types) {
    TensorRule rule;
    rule.mark = {"--tensor-type " + pattern + "=" + type, 0, 0};
    rule.regex = Marked<std::string>{pattern, rule.mark};
    rule.action = RuleAction::encode;
    rule.type = {type, rule.mark};
    recipe.rules.push_back(std::move(rule));
  }
  if (pure) {
    recipe.default_type = {preset.default_type, SourceMark{preset.source_path, 0, 0}};
    recipe.protected_type = {preset.protected_type, SourceMark{preset.source_path, 0, 0}};
  } else {
    recipe.preset = {preset.source_path, command_line};
  }
  return recipe;
}

Status apply_recipe_preset(const core::Registry& registry, const Recipe& recipe, const ContainerDescriptor& container,
                           Plan& plan) {
  if (recipe.preset.value.empty()) return {};
  auto preset = load_preset(recipe.preset.value);
  if (!preset.ok()) return recipe_error(recipe.preset.mark, preset.status().to_string());
  QF_ASSIGN_OR_RETURN(PresetOptions options, preset_options(recipe));
  if (Status s = apply_preset(*preset, options, plan, registry, container); !s.ok())
    return recipe_error(recipe.preset.mark, s.to_string());
  return {};
}

}  // namespace quantflow::pipeline
