// The recipe's section parsers that recipe.cpp's top-level walk dispatches to.
#pragma once

#include "pipeline/recipe/recipe.hpp"
#include "pipeline/recipe/recipe_yaml.hpp"

namespace quantflow::pipeline::recipe_parse {

// `output:` (a path, or a map with format, split size, writer options, report, model card).
Status parse_output(const recipe_yaml::Cursor& at, RecipeOutput& output);
// `metadata:` (set, delete, copy).
Status parse_metadata(const recipe_yaml::Cursor& at, MetadataEdits& edits);
// `rename:` (builtin map, explicit names, architecture facts).
Status parse_rename(const recipe_yaml::Cursor& at, RenameSpec& rename);
// One element of `tensors:`.
Status parse_rule(const recipe_yaml::Cursor& at, TensorRule& rule);

}  // namespace quantflow::pipeline::recipe_parse
