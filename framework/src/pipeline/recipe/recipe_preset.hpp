// `preset: Q4_K_M` in a recipe: llama-quantize's type mixture chooses every tensor's
// encoding (recipe rules still override it), with `preset_options` as its switches.
#pragma once

#include "core/registry.hpp"
#include "pipeline/engine/plan.hpp"
#include "pipeline/recipe/recipe.hpp"

namespace quantflow::pipeline {

// Loads the named preset and applies it to `plan`, written by `container` (no-op when the recipe
// names none).
Status apply_recipe_preset(const core::Registry& registry, const Recipe& recipe, const ContainerDescriptor& container,
                           Plan& plan);

// Checks that the preset exists and its options are well-formed, before any file is opened.
Status validate_recipe_preset(const Recipe& recipe);

}  // namespace quantflow::pipeline
