// Checks a recipe against the loaded plugins before any file is opened for writing.
#include <filesystem>

#include <fmt/format.h>

#include "pipeline/engine/type_request.hpp"

#include "core/atomic_output.hpp"
#include "pipeline/engine/convert.hpp"
#include "pipeline/engine/writer_options.hpp"
#include "pipeline/llama/name_map.hpp"
#include "pipeline/recipe/recipe_plan.hpp"
#include "pipeline/recipe/recipe_preset.hpp"
#include "pipeline/recipe/tensor_rules.hpp"

namespace quantflow::pipeline {

namespace {

std::string writable_encodings(const core::Registry& registry) {
  std::string names;
  for (const auto* c : registry.codecs())
    if (c->encode) names += (names.empty() ? "" : ", ") + std::string(c->name);
  return names;
}

Status check_encoding(const core::Registry& registry, const Marked<std::string>& type, const std::string& role) {
  if (type.value.empty()) return {};
  const CodecDescriptor* codec = registry.find(canonical_dtype_name(type.value));
  // A grouped family (mlx_q4) picks its member per tensor while planning.
  if (codec == nullptr && role != "fallback" && is_known_type(registry, registry.codecs(), type_named(type.value)))
    return {};
  if (codec == nullptr)
    return recipe_error(type.mark, fmt::format("unknown encoding '{}' for {} (loaded: {})", type.value, role,
                                               writable_encodings(registry)));
  if (codec->encode == nullptr)
    return recipe_error(type.mark, fmt::format("'{}' can only be decoded, not written ({})", type.value, role));
  return {};
}

}  // namespace

Status validate_recipe(const core::Registry& registry, const Recipe& recipe, std::vector<std::string>& warnings) {
  QF_RETURN_IF_ERROR(check_encoding(registry, recipe.default_type, "default_type"));
  if (recipe.protected_type.value != "keep")
    QF_RETURN_IF_ERROR(check_encoding(registry, recipe.protected_type, "protected_type"));
  for (const auto& f : recipe.fallback) QF_RETURN_IF_ERROR(check_encoding(registry, f, "fallback"));
  for (const auto& rule : recipe.rules)
    if (rule.action == RuleAction::encode) QF_RETURN_IF_ERROR(check_encoding(registry, rule.type, "this rule"));
  QF_RETURN_IF_ERROR(compile_rules(recipe.rules).take_status());
  for (const auto& rule : recipe.rules)
    if (rule.row_multiple_of && rule.row_multiple_of->value == 0)
      return recipe_error(rule.row_multiple_of->mark, "'row_multiple_of' must be positive");

  if (!recipe.rename.builtin.value.empty() && !is_builtin_name_map(recipe.rename.builtin.value)) {
    std::string known;
    for (const auto& n : builtin_name_maps()) known += (known.empty() ? "" : ", ") + n;
    return recipe_error(recipe.rename.builtin.mark,
                        fmt::format("unknown builtin name map '{}' (known: {})", recipe.rename.builtin.value, known));
  }
  if (recipe.rename.builtin.value.empty())
    for (const auto* key : {&recipe.rename.architecture.mark, &recipe.rename.heads.mark, &recipe.rename.kv_heads.mark})
      if (key->line > 0) warnings.push_back(key->to_string() + ": ignored without 'rename.builtin'");

  for (const auto& copy : recipe.metadata.copy)
    if (copy.input.value >= recipe.inputs.size())
      return recipe_error(copy.input.mark,
                          fmt::format("input {} does not exist (the recipe has {} input{}, from 0)", copy.input.value,
                                      recipe.inputs.size(), recipe.inputs.size() == 1 ? "" : "s"));

  // Output: a container that can write, and a path that is not an input.
  auto container = output_container(registry, recipe.output.path.value, recipe.output.format.value);
  if (!container.ok()) {
    const SourceMark& at = recipe.output.format.value.empty() ? recipe.output.path.mark : recipe.output.format.mark;
    return recipe_error(at, container.status().message());
  }
  // Writer options are checked against what the container declares, each at its own line.
  for (const auto& [key, value] : recipe.output.writer_options)
    if (Status s = check_writer_options(registry, **container, {{key.value, value}}); !s.ok())
      return recipe_error(key.mark, s.message());
  const auto& split_at =
      recipe.output.split_size.value > 0 ? recipe.output.split_size : recipe.output.split_max_tensors;
  if (split_at.value > 0 && (*container)->split == nullptr)
    return recipe_error(split_at.mark,
                        fmt::format("the {} container cannot split a model into several files", (*container)->name));
  for (const auto& input : recipe.inputs) {
    if (!std::filesystem::exists(input.value))
      return recipe_error(input.mark, fmt::format("input '{}' does not exist", input.value));
    if (core::same_path(input.value, recipe.output.path.value))
      return recipe_error(recipe.output.path.mark, fmt::format("the output '{}' is also an input ({})",
                                                               recipe.output.path.value, input.mark.to_string()));
  }
  if (!recipe.imatrix.value.empty()) {
    if (!std::filesystem::exists(recipe.imatrix.value))
      return recipe_error(recipe.imatrix.mark,
                          fmt::format("importance matrix '{}' does not exist", recipe.imatrix.value));
    if (core::same_path(recipe.imatrix.value, recipe.output.path.value))
      return recipe_error(recipe.output.path.mark, "the output is the importance matrix file");
  }
  QF_RETURN_IF_ERROR(validate_recipe_preset(recipe));
  if (recipe.mode.value == RuleMode::allowlist && recipe.rules.empty())
    warnings.push_back(recipe.mode.mark.to_string() + ": allowlist mode without rules keeps every tensor as it is");
  return {};
}

}  // namespace quantflow::pipeline
