// `preset: NAME` in a recipe. A llama-quantize preset (Q4_K_M) chooses every tensor's encoding
// (recipe rules still override it), with `preset_options` as its switches. A recipe preset
// (mlx-lm's mixed_4_6) is recipe rules kept in a preset file: its rules follow the recipe's own and
// its default_type applies when the recipe names none.
#pragma once

#include "core/registry.hpp"
#include "pipeline/llama/preset.hpp"
#include "pipeline/engine/plan.hpp"
#include "pipeline/recipe/recipe.hpp"

namespace quantflow::pipeline {

// Loads the named preset and applies it to `plan`, written by `container` (no-op when the recipe
// names none).
Status apply_recipe_preset(const core::Registry& registry, const Recipe& recipe, const ContainerDescriptor& container,
                           Plan& plan);

// Checks that the preset exists and its options are well-formed, before any file is opened.
Status validate_recipe_preset(const Recipe& recipe);

// The recipe with a recipe preset's rules and default type folded in and `preset` cleared; a
// recipe naming a llama-quantize preset, or none, is returned as it is.
Result<Recipe> expand_recipe_preset(const Recipe& recipe);

// `quantize IN OUT PRESET` for a recipe preset: the recipe that reads IN and writes OUT with it.
// `pure` drops the preset's rules; `tensor_types` (PATTERN=TYPE) come first as regex rules.
Recipe recipe_for_preset(const Preset& preset, const std::string& input, const std::string& output, bool pure,
                         const std::vector<std::pair<std::string, std::string>>& tensor_types);

}  // namespace quantflow::pipeline
