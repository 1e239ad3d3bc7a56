// The recipe document: its top-level keys, and parsing a recipe from text or a file.
#include "pipeline/recipe/recipe.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "pipeline/recipe/recipe_fields.hpp"
#include "pipeline/recipe/recipe_sections.hpp"
#include "pipeline/recipe/recipe_yaml.hpp"
#include "pipeline/recipe/yaml_errors.hpp"

namespace quantflow::pipeline {

namespace {

using namespace recipe_parse;

const std::vector<std::string> kTopLevelKeys = {
    "inputs", "output",   "metadata", "rename",  "tensors",      "default_type", "protected_type",
    "mode",   "fallback", "imatrix",  "threads", "memory_limit", "preset",       "preset_options"};

Status parse_top_level(const Cursor& root, Recipe& recipe) {
  QF_RETURN_IF_ERROR(root.require_map(kTopLevelKeys));
  for (const char* required : {"inputs", "output"})
    if (!root.node()[required] || root.node()[required].IsNull())
      return recipe_error(root.mark(), fmt::format("the recipe needs '{}'", required));
  return for_each_key(root, [&](const std::string& key, const Cursor& value, const Cursor&) -> Status {
    if (key == "inputs") {
      QF_ASSIGN_OR_RETURN(recipe.inputs, string_list_at(value, true));
      if (recipe.inputs.empty()) return recipe_error(value.mark(), "'inputs' names no file");
    } else if (key == "output") {
      return parse_output(value, recipe.output);
    } else if (key == "metadata") {
      return parse_metadata(value, recipe.metadata);
    } else if (key == "rename") {
      return parse_rename(value, recipe.rename);
    } else if (key == "tensors") {
      QF_RETURN_IF_ERROR(value.require_sequence());
      for (size_t i = 0; i < value.node().size(); ++i) {
        TensorRule rule;
        QF_RETURN_IF_ERROR(parse_rule(value.element(i, value.node()[i]), rule));
        recipe.rules.push_back(std::move(rule));
      }
    } else if (key == "default_type") {
      QF_ASSIGN_OR_RETURN(recipe.default_type, string_at(value));
    } else if (key == "protected_type") {
      QF_ASSIGN_OR_RETURN(recipe.protected_type, string_at(value));
    } else if (key == "mode") {
      QF_ASSIGN_OR_RETURN(auto mode, string_at(value));
      if (mode.value != "all" && mode.value != "allowlist")
        return recipe_error(value.mark(), fmt::format("'mode' must be 'all' or 'allowlist', not '{}'", mode.value));
      recipe.mode = Marked<RuleMode>{mode.value == "all" ? RuleMode::all : RuleMode::allowlist, mode.mark};
    } else if (key == "fallback") {
      recipe.fallback_mark = value.mark();
      QF_ASSIGN_OR_RETURN(recipe.fallback, string_list_at(value, false));
      // `error` alone is the default policy: no fallback.
      if (recipe.fallback.size() == 1 && recipe.fallback.front().value == "error") recipe.fallback.clear();
      for (const auto& f : recipe.fallback)
        if (f.value == "error") return recipe_error(f.mark, "'error' cannot be combined with fallback types");
    } else if (key == "imatrix") {
      QF_ASSIGN_OR_RETURN(recipe.imatrix, path_at(value));
    } else if (key == "threads") {
      QF_ASSIGN_OR_RETURN(auto threads, unsigned_at(value));
      if (threads.value > 4096) return recipe_error(value.mark(), "'threads' is implausibly large");
      recipe.threads = Marked<int>{static_cast<int>(threads.value), threads.mark};
    } else if (key == "memory_limit") {
      QF_ASSIGN_OR_RETURN(uint64_t bytes, value.as_size());
      recipe.memory_limit = marked(bytes, value);
    } else if (key == "preset") {
      QF_ASSIGN_OR_RETURN(recipe.preset, string_at(value));
    } else {
      if (!value.node().IsMap())
        return recipe_error(value.mark(),
                            "'preset_options' must be a map, not " + recipe_yaml::describe_kind(value.node()));
      recipe.preset_options = value.node();
      recipe.preset_options_mark = value.mark();
    }
    return {};
  });
}

}  // namespace

Result<Recipe> parse_recipe(const std::string& text, const std::string& origin, const std::string& base_dir,
                            const std::vector<RecipeOverride>& overrides) {
  recipe_yaml::Origins origins{origin, base_dir, overrides};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return usage_error(fmt::format("{}:{}:{}: {}", origin, e.mark.line + 1, e.mark.column + 1, yaml_error_message(e)));
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  QF_RETURN_IF_ERROR(recipe_yaml::apply_overrides(root, overrides));
  Recipe recipe;
  recipe.file = origin;
  QF_RETURN_IF_ERROR(parse_top_level(Cursor(root, "", &origins), recipe));
  return recipe;
}

Result<Recipe> parse_recipe_node(YAML::Node root, const std::string& origin, const std::string& base_dir) {
  recipe_yaml::Origins origins{origin, base_dir, {}};
  Recipe recipe;
  recipe.file = origin;
  QF_RETURN_IF_ERROR(parse_top_level(Cursor(root, "", &origins), recipe));
  return recipe;
}

Result<Recipe> load_recipe(const std::string& path, const std::vector<RecipeOverride>& overrides) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return usage_error("no such file").with_file(path);
  if (std::filesystem::is_directory(path, ec)) return bad_input("is a directory, not a recipe").with_file(path);
  if (!in) return io_error("cannot open the recipe").with_file(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  return parse_recipe(text.str(), path, base_dir, overrides);
}

}  // namespace quantflow::pipeline
