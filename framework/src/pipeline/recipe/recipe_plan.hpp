// Turns a parsed recipe into a Plan: validate, open inputs, rename, apply metadata edits,
// resolve every tensor's encoding (rules, preset, defaults, fallback), split into shards.
// Nothing is written here; the result prints as a dry run or goes to execute_conversion().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "pipeline/engine/conversion.hpp"
#include "pipeline/recipe/recipe.hpp"
#include "pipeline/recipe/recipe_source.hpp"

namespace quantflow::pipeline {

struct SkippedTensor {
  std::string name;
  std::string reason;
};

// A recipe's conversion, with what only recipes have: skipped tensors, warnings, and the
// report and model card to write once the conversion has run.
struct RecipePlan : Conversion {
  std::vector<SkippedTensor> skipped;
  std::vector<std::string> warnings;  // one line each, positions included
  std::string report_path;            // JSON report with per-tensor round-trip errors; empty: none
  bool model_card = false;            // README.md beside the output
  std::string quantization;           // the preset or default_type, for the model card
};

// Structural and registry checks that need no input file: encodings, regexes, output
// container and paths. Warnings are appended.
Status validate_recipe(const core::Registry& registry, const Recipe& recipe, std::vector<std::string>& warnings);

Result<RecipePlan> plan_recipe(const core::Registry& registry, const Recipe& recipe);

}  // namespace quantflow::pipeline
