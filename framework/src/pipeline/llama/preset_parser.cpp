// Parses one preset YAML file into a Preset record (rules, conditions, fallbacks). Every error
// names file:line:column, because presets are edited by hand and a typo in a rule must be easy to find.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "pipeline/llama/preset.hpp"
#include "pipeline/recipe/yaml_errors.hpp"

namespace quantflow::pipeline {

namespace {

// Thrown inside the parser only; load_preset_file turns it into a Status.
struct PresetSyntaxError {
  std::string message;
};

class PresetParser {
 public:
  explicit PresetParser(std::string path) : path_(std::move(path)) {}

  std::string where(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) return path_;
    return fmt::format("{}:{}:{}", path_, mark.line + 1, mark.column + 1);
  }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const {
    throw PresetSyntaxError{fmt::format("{}: {}", where(node), message)};
  }

  void require_map(const YAML::Node& node, const char* what) const {
    if (!node.IsMap()) fail(node, fmt::format("{} must be a mapping", what));
  }

  // Rejects keys outside `allowed` so that misspelt rule fields do not silently vanish.
  void check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed, const char* what) const {
    for (const auto& entry : map) {
      const std::string key = entry.first.as<std::string>();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string names;
        for (auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
        fail(entry.first, fmt::format("unknown {} key '{}' (expected one of: {})", what, key, names));
      }
    }
  }

  std::string scalar(const YAML::Node& node, const char* what) const {
    if (!node.IsScalar()) fail(node, fmt::format("{} must be a single value", what));
    return node.Scalar();
  }

  bool boolean(const YAML::Node& node, const char* what) const {
    const std::string text = scalar(node, what);
    if (text == "true") return true;
    if (text == "false") return false;
    fail(node, fmt::format("{} must be true or false, not '{}'", what, text));
  }

  int64_t integer(const YAML::Node& node, const char* what) const {
    const std::string text = scalar(node, what);
    size_t used = 0;
    int64_t value = 0;
    try {
      value = std::stoll(text, &used, 10);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size()) fail(node, fmt::format("{} must be an integer, not '{}'", what, text));
    return value;
  }

  // A single value or a list of values.
  std::vector<std::string> strings(const YAML::Node& node, const char* what) const {
    std::vector<std::string> out;
    if (node.IsSequence()) {
      for (const auto& item : node) out.push_back(scalar(item, what));
    } else {
      out.push_back(scalar(node, what));
    }
    return out;
  }

  std::string type_name(const YAML::Node& node, const char* what) const {
    std::string name = canonical_dtype_name(scalar(node, what));
    if (name.empty()) fail(node, fmt::format("{} must name an encoding", what));
    return name;
  }

  TensorCategory category(const YAML::Node& node) const {
    auto c = tensor_category_from_name(scalar(node, "a category"));
    if (!c) fail(node, fmt::format("unknown category '{}'", node.Scalar()));
    return *c;
  }

  LayerTest layer_test(const YAML::Node& node, LayerSource source) const {
    static const std::map<std::string, LayerRange> kRanges = {{"first_eighth", LayerRange::first_eighth},
                                                              {"first_sixteenth", LayerRange::first_sixteenth},
                                                              {"use_more_bits", LayerRange::use_more_bits},
                                                              {"middle", LayerRange::middle}};
    LayerTest test;
    test.source = source;
    if (node.IsMap()) {
      check_keys(node, {"below"}, "layer range");
      test.range = LayerRange::below;
      test.below = integer(node["below"], "below");
      return test;
    }
    const std::string text = scalar(node, "a layer range");
    auto it = kRanges.find(text);
    if (it == kRanges.end())
      fail(node, fmt::format("unknown layer range '{}' (expected first_eighth, first_sixteenth, use_more_bits, "
                             "middle or {{below: N}})",
                             text));
    test.range = it->second;
    return test;
  }

  RuleCondition condition(const YAML::Node& node) const {
    require_map(node, "'when'");
    check_keys(node,
               {"arch", "not_arch", "row_fits", "has_imatrix", "is_70b", "stacked_experts", "tied_embeddings",
                "option_given", "n_gqa_at_least", "n_expert_at_least", "n_expert", "layer", "counter", "type_in"},
               "condition");
    RuleCondition c;
    if (node["arch"]) c.arch = strings(node["arch"], "arch");
    if (node["not_arch"]) c.not_arch = strings(node["not_arch"], "not_arch");
    if (node["row_fits"]) c.row_fits = boolean(node["row_fits"], "row_fits");
    if (node["has_imatrix"]) c.has_imatrix = boolean(node["has_imatrix"], "has_imatrix");
    if (node["is_70b"]) c.is_70b = boolean(node["is_70b"], "is_70b");
    if (node["stacked_experts"]) c.stacked_experts = boolean(node["stacked_experts"], "stacked_experts");
    if (node["tied_embeddings"]) c.tied_embeddings = boolean(node["tied_embeddings"], "tied_embeddings");
    if (node["option_given"]) {
      c.option_given = strings(node["option_given"], "option_given");
      for (const auto& o : c.option_given) check_option_name(node["option_given"], o);
    }
    if (node["n_gqa_at_least"]) c.n_gqa_at_least = integer(node["n_gqa_at_least"], "n_gqa_at_least");
    if (node["n_expert_at_least"]) c.n_expert_at_least = integer(node["n_expert_at_least"], "n_expert_at_least");
    if (node["n_expert"]) c.n_expert = integer(node["n_expert"], "n_expert");
    if (node["layer"] && node["counter"]) fail(node, "a condition tests either 'layer' or 'counter', not both");
    if (node["layer"]) c.layer = layer_test(node["layer"], LayerSource::layer);
    if (node["counter"]) c.layer = layer_test(node["counter"], LayerSource::counter);
    if (node["type_in"])
      for (const auto& t : strings(node["type_in"], "type_in")) c.type_in.push_back(canonical_dtype_name(t));
    return c;
  }

  void check_option_name(const YAML::Node& node, const std::string& name) const {
    if (name != "output_tensor_type" && name != "token_embedding_type")
      fail(node, fmt::format("unknown option '{}' (expected output_tensor_type or token_embedding_type)", name));
  }

  PresetRule rule(const YAML::Node& node) const {
    require_map(node, "a rule");
    check_keys(node, {"category", "when", "type", "note"}, "rule");
    PresetRule r;
    r.origin = where(node);
    if (node["category"]) {
      const YAML::Node list = node["category"];
      auto add = [&](const YAML::Node& item) {
        const std::string name = scalar(item, "a category");
        if (name == "output_role") {
          r.output_role = true;
        } else if (name == "attn_v_like") {
          r.categories.insert(r.categories.end(),
                              {TensorCategory::attn_v, TensorCategory::attn_qkv, TensorCategory::attn_kv_b});
        } else {
          r.categories.push_back(category(item));
        }
      };
      if (list.IsSequence()) {
        for (const auto& item : list) add(item);
      } else {
        add(list);
      }
    }
    if (node["when"]) r.when = condition(node["when"]);
    if (!node["type"]) fail(node, "a rule needs 'type' (an encoding, 'keep' or '$option')");
    const std::string type = scalar(node["type"], "type");
    if (type == "keep") {
      r.action = PresetRule::Action::keep;
    } else if (!type.empty() && type[0] == '$') {
      r.action = PresetRule::Action::from_option;
      r.type = type.substr(1);
      check_option_name(node["type"], r.type);
    } else {
      r.type = type_name(node["type"], "type");
    }
    return r;
  }

  std::vector<PresetRule> rules(const YAML::Node& node, const char* what) const {
    std::vector<PresetRule> out;
    if (!node) return out;
    if (!node.IsSequence()) fail(node, fmt::format("'{}' must be a list of rules", what));
    for (const auto& item : node) out.push_back(rule(item));
    return out;
  }

  // `tensors:` rules are the recipe module's to parse (with their positions in this file); a
  // recipe preset has none of llama's fields, so a mix of the two vocabularies is refused.
  void recipe_preset(const YAML::Node& root, Preset& p) const {
    for (const char* key :
         {"ftype", "copy_only", "rules", "adjustments", "fallbacks", "last_resort_type", "imatrix_required"})
      if (root[key])
        fail(root[key], fmt::format("'{}' belongs to llama-quantize presets; a preset with 'tensors' uses the "
                                    "recipe rule language only",
                                    key));
    if (!root["tensors"].IsSequence()) fail(root["tensors"], "'tensors' must be a list of recipe rules");
    p.tensor_rules = root["tensors"];
    if (root["protected_type"]) p.protected_type = type_name(root["protected_type"], "protected_type");
  }

  void llama_preset(const YAML::Node& root, Preset& p) const {
    if (root["protected_type"])
      fail(root["protected_type"], "'protected_type' belongs to recipe presets (with 'tensors')");
    if (!root["ftype"]) fail(root, "a preset needs 'ftype' (the general.file_type value)");
    const int64_t ftype = integer(root["ftype"], "ftype");
    if (ftype < 0 || ftype > 0xffffffffLL) fail(root["ftype"], "ftype must fit in 32 bits");
    p.ftype = static_cast<uint32_t>(ftype);
    if (root["copy_only"]) p.copy_only = boolean(root["copy_only"], "copy_only");
    p.rules = rules(root["rules"], "rules");
    p.adjustments = rules(root["adjustments"], "adjustments");
    if (const YAML::Node fb = root["fallbacks"]) {
      require_map(fb, "'fallbacks'");
      for (const auto& entry : fb)
        p.fallbacks.emplace_back(type_name(entry.first, "a fallback's type"),
                                 type_name(entry.second, "a fallback's replacement"));
    }
    if (root["last_resort_type"]) p.last_resort_type = type_name(root["last_resort_type"], "last_resort_type");
    if (const YAML::Node req = root["imatrix_required"]) {
      require_map(req, "'imatrix_required'");
      check_keys(req, {"types", "except_categories"}, "imatrix_required");
      if (req["types"])
        for (const auto& t : strings(req["types"], "types"))
          p.imatrix_required_types.push_back(canonical_dtype_name(t));
      if (const YAML::Node except = req["except_categories"]) {
        if (except.IsSequence()) {
          for (const auto& item : except) p.imatrix_exempt_categories.push_back(category(item));
        } else {
          p.imatrix_exempt_categories.push_back(category(except));
        }
      }
    }
  }

  Preset preset(const YAML::Node& root) const {
    require_map(root, "a preset file");
    check_keys(root,
               {"name", "aliases", "description", "ftype", "container", "default_type", "copy_only", "rules",
                "adjustments", "fallbacks", "last_resort_type", "imatrix_required", "tensors", "protected_type"},
               "preset");
    Preset p;
    p.source_path = path_;
    if (!root["name"]) fail(root, "a preset needs 'name'");
    p.name = scalar(root["name"], "name");
    if (root["aliases"]) p.aliases = strings(root["aliases"], "aliases");
    if (root["description"]) p.description = scalar(root["description"], "description");
    if (!root["default_type"]) fail(root, "a preset needs 'default_type'");
    p.default_type = type_name(root["default_type"], "default_type");
    if (const YAML::Node tensors = root["tensors"]) {
      recipe_preset(root, p);
    } else {
      llama_preset(root, p);
    }
    // Checked last so that mistakes in the rules are reported first, where they are likelier.
    if (!root["container"]) fail(root, "a preset needs 'container' (the output container whose file type 'ftype' is)");
    p.container = scalar(root["container"], "container");
    return p;
  }

 private:
  std::string path_;
};

}  // namespace

Result<Preset> load_preset_file(const std::string& path) {
  PresetParser parser(path);
  try {
    const YAML::Node root = YAML::LoadFile(path);
    return parser.preset(root);
  } catch (const PresetSyntaxError& e) {
    return bad_input(e.message);
  } catch (const YAML::BadFile&) {
    return bad_input("cannot read the preset file").with_file(path);
  } catch (const YAML::Exception& e) {
    return bad_input(fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, yaml_error_message(e)));
  }
}

}  // namespace quantflow::pipeline
