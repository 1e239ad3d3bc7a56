#include "pipeline/recipe/recipe_output.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "core/atomic_output.hpp"
#include "pipeline/analysis/model_card.hpp"
#include "pipeline/engine/output_files.hpp"

namespace quantflow::pipeline {

namespace {

// Every file the recipe writes must differ from the inputs and from each other.
Status check_output_paths(const Recipe& recipe, const RecipePlan& out) {
  const std::string& path = recipe.output.path.value;
  std::vector<std::string> written;
  for (const auto& f : out.files) written.push_back(f.path);
  if (!out.index_path.empty()) written.push_back(out.index_path);
  if (recipe.output.model_card.value) written.push_back(model_card_path(path));
  if (!recipe.output.report.value.empty()) written.push_back(recipe.output.report.value);
  for (size_t i = 0; i < written.size(); ++i) {
    for (const auto& input : recipe.inputs)
      if (core::same_path(written[i], input.value))
        return recipe_error(recipe.output.path.mark,
                            fmt::format("output file '{}' is also an input ({})", written[i], input.mark.to_string()));
    for (size_t j = 0; j < i; ++j)
      if (written[i] == written[j])
        return recipe_error(recipe.output.path.mark, fmt::format("two output files are both '{}'", written[i]));
  }
  return {};
}

}  // namespace

Status plan_recipe_output_files(const core::Registry& registry, const Recipe& recipe, RecipePlan& out) {
  const SplitLimits limits{.max_bytes = recipe.output.split_size.value,
                           .max_tensors = recipe.output.split_max_tensors.value};
  if (Status s = plan_output_files(out, recipe.output.path.value, limits); !s.ok())
    return recipe_error(limits.max_bytes > 0 ? recipe.output.split_size.mark : recipe.output.split_max_tensors.mark,
                        s.message());
  if (!recipe.output.compress.value.empty()) {
    auto compression = streams::parse_compression(recipe.output.compress.value);
    if (!compression.ok()) return recipe_error(recipe.output.compress.mark, compression.status().message());
    out.compression = *compression;
  }
  for (const OutputFile& file : out.files)
    if (auto checked = streams::output_compression_for(file.path, out.compression); !checked.ok())
      return recipe_error(recipe.output.compress.mark, checked.status().message());
  if (Status s = check_writer_accepts(registry, out); !s.ok())
    return recipe_error(recipe.output.path.mark, s.to_string());
  return check_output_paths(recipe, out);
}

}  // namespace quantflow::pipeline
