// Parses the recipe's output, metadata and rename sections.
#include "pipeline/recipe/recipe_sections.hpp"

#include <fmt/format.h>

#include "pipeline/engine/output_files.hpp"
#include "pipeline/recipe/recipe_fields.hpp"
#include "streams/compression.hpp"

namespace quantflow::pipeline::recipe_parse {

Status parse_output(const Cursor& at, RecipeOutput& output) {
  if (at.node().IsScalar()) {
    QF_ASSIGN_OR_RETURN(output.path, path_at(at));
    return {};
  }
  QF_RETURN_IF_ERROR(at.require_map(
      {"path", "format", "split_size", "split_max_tensors", "compress", "options", "report", "model_card"}));
  if (!at.node()["path"]) return recipe_error(at.mark(), "'output' needs a 'path'");
  return for_each_key(at, [&](const std::string& key, const Cursor& value, const Cursor&) -> Status {
    if (key == "path") {
      QF_ASSIGN_OR_RETURN(output.path, path_at(value));
    } else if (key == "format") {
      QF_ASSIGN_OR_RETURN(output.format, string_at(value));
    } else if (key == "split_size") {
      QF_ASSIGN_OR_RETURN(std::string text, value.as_string());
      auto bytes = parse_split_size(text);
      if (!bytes.ok()) return recipe_error(value.mark(), bytes.status().message());
      output.split_size = marked(*bytes, value);
    } else if (key == "split_max_tensors") {
      QF_ASSIGN_OR_RETURN(output.split_max_tensors, unsigned_at(value));
      if (output.split_max_tensors.value == 0)
        return recipe_error(value.mark(), "'output.split_max_tensors' must be at least 1");
    } else if (key == "compress") {
      QF_ASSIGN_OR_RETURN(output.compress, string_at(value));
      if (auto parsed = streams::parse_compression(output.compress.value); !parsed.ok())
        return recipe_error(value.mark(), parsed.status().message());
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

}  // namespace quantflow::pipeline::recipe_parse
