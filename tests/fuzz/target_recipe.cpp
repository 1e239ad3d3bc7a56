// Recipe YAML (docs/recipes.md): structure and value types, from text.
#include <string>

#include "pipeline/recipe/recipe.hpp"
#include "support.hpp"
#include "targets.hpp"

namespace qf_fuzz {

quantflow::Status fuzz_recipe(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto recipe = quantflow::pipeline::parse_recipe(text, "fuzz.yaml", scratch_dir());
  if (!recipe.ok()) return recipe.take_status();
  return {};
}

}  // namespace qf_fuzz
