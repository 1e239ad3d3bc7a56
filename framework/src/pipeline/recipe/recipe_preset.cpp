#include "pipeline/recipe/recipe_preset.hpp"

#include <fmt/format.h>

#include "pipeline/llama/preset.hpp"

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

}  // namespace

Status validate_recipe_preset(const Recipe& recipe) {
  if (recipe.preset.value.empty()) {
    if (recipe.preset_options.IsMap())
      return recipe_error(recipe.preset_options_mark, "'preset_options' without 'preset'");
    return {};
  }
  auto preset = load_preset(recipe.preset.value);
  if (!preset.ok()) return recipe_error(recipe.preset.mark, preset.status().to_string());
  return preset_options(recipe).take_status();
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
