// Preset YAML (docs/presets.md), read from a file as load_preset does for a path.
#include "pipeline/llama/preset.hpp"
#include "pipeline/recipe/recipe_preset.hpp"
#include "support.hpp"
#include "targets.hpp"

namespace qf_fuzz {

quantflow::Status fuzz_preset(const uint8_t* data, size_t size) {
  const std::string path = scratch_file("preset.yaml", data, size);
  auto preset = quantflow::pipeline::load_preset_file(path);
  if (!preset.ok()) return preset.take_status();
  if (!preset->is_recipe_preset()) return {};
  // A recipe preset's rules are parsed when a recipe or `quantize` uses it.
  quantflow::pipeline::Recipe recipe;
  recipe.preset.value = path;
  return quantflow::pipeline::expand_recipe_preset(recipe).take_status();
}

}  // namespace qf_fuzz
