#include "pipeline/recipe/recipe.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "pipeline/recipe/recipe_yaml.hpp"
#include "pipeline/recipe/yaml_errors.hpp"

namespace quantflow::pipeline {

namespace {

using recipe_yaml::Cursor;

template <typename T>
Marked<T> marked(T value, const Cursor& at) {
  return Marked<T>{std::move(value), at.mark()};
}

Result<Marked<std::string>> string_at(const Cursor& at) {
  QF_ASSIGN_OR_RETURN(std::string value, at.as_string());
  return marked(std::move(value), at);
}

Result<Marked<std::string>> path_at(const Cursor& at) {
  QF_ASSIGN_OR_RETURN(std::string value, at.as_string());
  if (value.empty()) return recipe_error(at.mark(), fmt::format("'{}' must not be empty", at.path()));
  return marked(at.resolve_path(value), at);
}

Result<Marked<uint64_t>> unsigned_at(const Cursor& at) {
  QF_ASSIGN_OR_RETURN(uint64_t value, at.as_unsigned());
  return marked(value, at);
}

// A list of strings, or one string standing for a list of one.
Result<std::vector<Marked<std::string>>> string_list_at(const Cursor& at, bool paths) {
  std::vector<Marked<std::string>> out;
  auto one = [&](const Cursor& c) -> Status {
    auto value = paths ? path_at(c) : string_at(c);
    if (!value.ok()) return value.take_status();
    out.push_back(std::move(value).value());
    return {};
  };
  if (at.node().IsSequence()) {
    for (size_t i = 0; i < at.node().size(); ++i) QF_RETURN_IF_ERROR(one(at.element(i, at.node()[i])));
  } else {
    QF_RETURN_IF_ERROR(one(at));
  }
  return out;
}

// Calls `parse` for each key of a map node in document order.
template <typename Fn>
Status for_each_key(const Cursor& at, Fn&& parse) {
  for (auto it = at.node().begin(); it != at.node().end(); ++it) {
    const std::string key = it->first.Scalar();
    QF_RETURN_IF_ERROR(parse(key, at.child(key, it->second), at.child(key, it->first)));
  }
  return {};
}

Status parse_output(const Cursor& at, RecipeOutput& output) {
  if (at.node().IsScalar()) {
    QF_ASSIGN_OR_RETURN(output.path, path_at(at));
    return {};
  }
  QF_RETURN_IF_ERROR(at.require_map({"path", "format", "split_size", "options", "report", "model_card"}));
  if (!at.node()["path"]) return recipe_error(at.mark(), "'output' needs a 'path'");
  return for_each_key(at, [&](const std::string& key, const Cursor& value, const Cursor&) -> Status {
    if (key == "path") {
      QF_ASSIGN_OR_RETURN(output.path, path_at(value));
    } else if (key == "format") {
      QF_ASSIGN_OR_RETURN(output.format, string_at(value));
    } else if (key == "split_size") {
      QF_ASSIGN_OR_RETURN(uint64_t bytes, value.as_size());
      output.split_size = marked(bytes, value);
    } else if (key == "report") {
      QF_ASSIGN_OR_RETURN(output.report, path_at(value));
    } else if (key == "model_card") {
      QF_ASSIGN_OR_RETURN(bool wanted, value.as_bool());
      output.model_card = marked(wanted, value);
    } else {
      if (!value.node().IsMap()) return recipe_error(value.mark(), "'output.options' must be a map of KEY: VALUE");
      return for_each_key(value, [&](const std::string& k, const Cursor& v, const Cursor& key_at) -> Status {
        QF_ASSIGN_OR_RETURN(std::string text, v.as_string());
        output.writer_options.emplace_back(marked(k, key_at), std::move(text));
        return {};
      });
    }
    return {};
  });
}

Status parse_metadata(const Cursor& at, MetadataEdits& edits) {
  QF_RETURN_IF_ERROR(at.require_map({"set", "delete", "copy"}));
  return for_each_key(at, [&](const std::string& key, const Cursor& value, const Cursor&) -> Status {
    if (key == "delete") {
      QF_ASSIGN_OR_RETURN(edits.remove, string_list_at(value, false));
      return {};
    }
    if (key == "set") {
      if (!value.node().IsMap())
        return recipe_error(value.mark(), "'metadata.set' must be a map of KEY: VALUE or KEY: {type: T, value: V}");
      return for_each_key(value, [&](const std::string& k, const Cursor& v, const Cursor& key_at) -> Status {
        QF_ASSIGN_OR_RETURN(MetaValue meta, recipe_yaml::parse_meta_value(v));
        edits.set.push_back({marked(k, key_at), std::move(meta)});
        return {};
      });
    }
    QF_RETURN_IF_ERROR(value.require_sequence());
    for (size_t i = 0; i < value.node().size(); ++i) {
      const Cursor item = value.element(i, value.node()[i]);
      QF_RETURN_IF_ERROR(item.require_map({"key", "input", "from"}));
      if (!item.node()["key"] || !item.node()["input"])
        return recipe_error(item.mark(), "a metadata copy needs 'key' and 'input' (and optionally 'from')");
      MetadataCopy copy;
      QF_ASSIGN_OR_RETURN(copy.key, string_at(item.child("key", item.node()["key"])));
      QF_ASSIGN_OR_RETURN(auto input, unsigned_at(item.child("input", item.node()["input"])));
      copy.input = Marked<size_t>{static_cast<size_t>(input.value), input.mark};
      copy.from_key = copy.key;
      if (item.node()["from"]) {
        QF_ASSIGN_OR_RETURN(copy.from_key, string_at(item.child("from", item.node()["from"])));
      }
      edits.copy.push_back(std::move(copy));
    }
    return {};
  });
}

Status parse_rename(const Cursor& at, RenameSpec& rename) {
  QF_RETURN_IF_ERROR(at.require_map({"builtin", "map", "architecture", "heads", "kv_heads"}));
  return for_each_key(at, [&](const std::string& key, const Cursor& value, const Cursor&) -> Status {
    if (key == "builtin") {
      QF_ASSIGN_OR_RETURN(rename.builtin, string_at(value));
    } else if (key == "architecture") {
      QF_ASSIGN_OR_RETURN(rename.architecture, string_at(value));
    } else if (key == "heads") {
      QF_ASSIGN_OR_RETURN(rename.heads, unsigned_at(value));
    } else if (key == "kv_heads") {
      QF_ASSIGN_OR_RETURN(rename.kv_heads, unsigned_at(value));
    } else {
      if (!value.node().IsMap())
        return recipe_error(value.mark(), "'rename.map' must be a map of SOURCE: OUTPUT names");
      return for_each_key(value, [&](const std::string& k, const Cursor& v, const Cursor& key_at) -> Status {
        QF_ASSIGN_OR_RETURN(auto target, string_at(v));
        rename.names.emplace_back(marked(k, key_at), std::move(target));
        return {};
      });
    }
    return {};
  });
}

// "3", "0-3", "0-3,8,10-11" -> inclusive ranges.
Status parse_layer_ranges(const Cursor& at, const std::string& text,
                          std::vector<std::pair<uint64_t, uint64_t>>& ranges) {
  std::stringstream parts(text);
  std::string part;
  while (std::getline(parts, part, ',')) {
    while (!part.empty() && part.front() == ' ') part.erase(0, 1);
    while (!part.empty() && part.back() == ' ') part.pop_back();
    const size_t dash = part.find('-');
    const std::string lo_text = part.substr(0, dash);
    const std::string hi_text = dash == std::string::npos ? lo_text : part.substr(dash + 1);
    uint64_t lo = 0, hi = 0;
    auto number = [](const std::string& s, uint64_t& v) {
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      return ec == std::errc() && p == s.data() + s.size() && !s.empty();
    };
    if (!number(lo_text, lo) || !number(hi_text, hi) || hi < lo)
      return recipe_error(at.mark(), fmt::format("'{}' is not a layer or layer range such as 0-3", part));
    ranges.emplace_back(lo, hi);
  }
  if (ranges.empty()) return recipe_error(at.mark(), "'layers' names no layer");
  return {};
}

Result<RuleAction> action_of(const std::string& type) {
  if (type == "keep") return RuleAction::keep;
  if (type == "skip") return RuleAction::skip;
  return RuleAction::encode;
}

Status parse_rule(const Cursor& at, TensorRule& rule) {
  QF_RETURN_IF_ERROR(at.require_map(
      {"name", "glob", "regex", "layers", "shape", "dims", "min_elements", "max_elements", "row_multiple_of", "type"}));
  rule.mark = at.mark();
  if (!at.node()["type"]) return recipe_error(at.mark(), "a tensor rule needs 'type': keep, skip or an encoding name");
  return for_each_key(at, [&](const std::string& key, const Cursor& value, const Cursor&) -> Status {
    if (key == "name") {
      QF_ASSIGN_OR_RETURN(rule.name, string_at(value));
    } else if (key == "glob") {
      QF_ASSIGN_OR_RETURN(rule.glob, string_at(value));
    } else if (key == "regex") {
      QF_ASSIGN_OR_RETURN(rule.regex, string_at(value));
    } else if (key == "dims") {
      QF_ASSIGN_OR_RETURN(rule.dims, unsigned_at(value));
    } else if (key == "min_elements") {
      QF_ASSIGN_OR_RETURN(rule.min_elements, unsigned_at(value));
    } else if (key == "max_elements") {
      QF_ASSIGN_OR_RETURN(rule.max_elements, unsigned_at(value));
    } else if (key == "row_multiple_of") {
      QF_ASSIGN_OR_RETURN(rule.row_multiple_of, unsigned_at(value));
      if (rule.row_multiple_of->value == 0) return recipe_error(value.mark(), "'row_multiple_of' must be positive");
    } else if (key == "layers") {
      Marked<std::vector<std::pair<uint64_t, uint64_t>>> ranges{{}, value.mark()};
      if (value.node().IsSequence()) {
        for (size_t i = 0; i < value.node().size(); ++i) {
          const Cursor item = value.element(i, value.node()[i]);
          QF_ASSIGN_OR_RETURN(std::string text, item.as_string());
          QF_RETURN_IF_ERROR(parse_layer_ranges(item, text, ranges.value));
        }
      } else {
        QF_ASSIGN_OR_RETURN(std::string text, value.as_string());
        QF_RETURN_IF_ERROR(parse_layer_ranges(value, text, ranges.value));
      }
      rule.layers = std::move(ranges);
    } else if (key == "shape") {
      QF_RETURN_IF_ERROR(value.require_sequence());
      Marked<std::vector<std::optional<uint64_t>>> shape{{}, value.mark()};
      for (size_t i = 0; i < value.node().size(); ++i) {
        const Cursor item = value.element(i, value.node()[i]);
        if (item.node().IsScalar() && (item.node().Scalar() == "*" || item.node().IsNull())) {
          shape.value.push_back(std::nullopt);
          continue;
        }
        QF_ASSIGN_OR_RETURN(uint64_t extent, item.as_unsigned());
        shape.value.push_back(extent);
      }
      rule.shape = std::move(shape);
    } else {
      QF_ASSIGN_OR_RETURN(rule.type, string_at(value));
      QF_ASSIGN_OR_RETURN(rule.action, action_of(rule.type.value));
    }
    return {};
  });
}

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

Result<RecipeOverride> parse_override(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    return usage_error(fmt::format("--set '{}' must be KEY=VALUE (e.g. output.path=out.gguf)", text));
  return RecipeOverride{text.substr(0, eq), text.substr(eq + 1)};
}

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
