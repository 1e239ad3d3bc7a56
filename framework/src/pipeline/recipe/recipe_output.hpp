// Output files of a recipe: one file, or shards of at most `split_size` bytes of tensor data
// following the container's sharding convention (GGUF split keys, safetensors index json).
#pragma once

#include <string>

#include "pipeline/recipe/recipe_plan.hpp"

namespace quantflow::pipeline {

// Fills out.shards (and out.index_path) from out.plan; refuses paths that clash with inputs.
Status plan_output_files(const Recipe& recipe, RecipePlan& out);

// The text of the shard index for containers that keep one (empty otherwise).
std::string shard_index_text(const RecipePlan& plan);

}  // namespace quantflow::pipeline
