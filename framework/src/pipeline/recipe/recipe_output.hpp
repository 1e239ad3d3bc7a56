// The files a recipe writes: its output (split by the container's convention when
// `output.split_size` is set, see engine/output_files), checked against its inputs.
#pragma once

#include "pipeline/recipe/recipe_plan.hpp"

namespace quantflow::pipeline {

// Fills out.files (and out.index_path) from out.plan; refuses paths that clash with inputs
// or with each other, naming the recipe line.
Status plan_recipe_output_files(const core::Registry& registry, const Recipe& recipe, RecipePlan& out);

}  // namespace quantflow::pipeline
