// llama-quantize's quantization types ("Q4_K_M", "IQ4_XS", ...) as data: each preset is a
// YAML file naming the ftype, its default encoding and an ordered rule list that picks a
// different encoding for particular tensors. This header is the generic engine: it knows the
// rule vocabulary (tensor categories, layer positions, model predicates), never a specific
// preset. See docs/presets.md for the file format.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "pipeline/llama/llama_tensors.hpp"
#include "pipeline/engine/importance.hpp"
#include "pipeline/engine/plan.hpp"

namespace quantflow::pipeline {

// Which layer position a rule tests: llama's layer index/count pair for the tensor's
// category (`layer`), or the raw per-category counter even for MoE models (`counter`).
enum class LayerSource : uint8_t { layer, counter };
enum class LayerRange : uint8_t { first_eighth, first_sixteenth, use_more_bits, middle, below };

struct LayerTest {
  LayerSource source = LayerSource::layer;
  LayerRange range = LayerRange::first_eighth;
  int64_t below = 0;  // for LayerRange::below
};

// Every present field must hold for the rule to apply.
struct RuleCondition {
  std::vector<std::string> arch;      // the architecture is one of these
  std::vector<std::string> not_arch;  // ... and none of these
  std::optional<bool> row_fits;       // ne[0] is a multiple of the current type's block
  std::optional<bool> has_imatrix;
  std::optional<bool> is_70b;
  std::optional<bool> stacked_experts;  // ne[2] > 1
  std::optional<bool> tied_embeddings;
  std::vector<std::string> option_given;  // output_tensor_type / token_embedding_type were given
  std::optional<int64_t> n_gqa_at_least;
  std::optional<int64_t> n_expert_at_least;
  std::optional<int64_t> n_expert;
  std::optional<LayerTest> layer;
  std::vector<std::string> type_in;  // the current type is one of these
};

struct PresetRule {
  // Categories the rule is for; empty means any quantizable tensor.
  std::vector<TensorCategory> categories;
  bool output_role = false;  // also matches token_embd when the embeddings are tied
  RuleCondition when;
  enum class Action : uint8_t { set_type, keep, from_option } action = Action::set_type;
  std::string type;    // set_type: codec name; from_option: the option's name
  std::string origin;  // "file:line:column" for messages
};

struct Preset {
  std::string name;  // canonical CLI name, e.g. "Q4_K_M"
  std::vector<std::string> aliases;
  std::string description;
  std::string source_path;
  uint32_t ftype = 0;                                          // the container's file type (GGUF: general.file_type)
  std::string container;                                       // the output container ftype belongs to
  std::string default_type;                                    // codec name
  bool copy_only = false;                                      // COPY: no tensor changes, file_type stays the input's
  std::vector<PresetRule> rules;                               // first match wins
  std::vector<PresetRule> adjustments;                         // applied in order after the rules, each when it matches
  std::vector<std::pair<std::string, std::string>> fallbacks;  // type -> type when ne[0] does not fit
  std::string last_resort_type;                                // when the fallback does not fit either
  std::vector<std::string> imatrix_required_types;
  std::vector<TensorCategory> imatrix_exempt_categories;
  // A recipe preset (mlx-lm's mixed_4_6, ...) names its tensors with the recipe rule language
  // (`tensors:`, docs/recipes.md) instead of llama's categories; it has no ftype, and the recipe
  // module runs it (pipeline/recipe/recipe_preset). Null for llama-quantize presets.
  YAML::Node tensor_rules;
  std::string protected_type;  // a recipe preset's protected_type ("keep" for mlx-lm's); empty: the recipe's default

  bool is_recipe_preset() const { return tensor_rules.IsDefined() && !tensor_rules.IsNull(); }
};

struct PresetOptions {
  bool pure = false;
  bool leave_output_tensor = false;
  bool has_imatrix = false;
  bool allow_requantize = false;  // re-encode already block-quantized input tensors
  std::string output_tensor_type, token_embedding_type;
  std::vector<std::pair<std::string, std::string>> tensor_types;  // --tensor-type PATTERN=T, in order
  std::vector<std::pair<std::string, std::string>> override_kv;   // K=TYPE:V raw (KEY, "TYPE:V")
  // Appended after override_kv like llama-quantize's imatrix overrides (quantize.imatrix.*).
  std::vector<std::pair<std::string, MetaValue>> extra_metadata;
  // The loaded importance matrix: a type the preset only allows with one needs an entry for
  // the tensor (llama-quantize checks per tensor). Null: has_imatrix alone decides.
  const ImportanceMatrix* importance = nullptr;
  bool no_fallback = false;       // refuse a tensor whose row does not fit its type instead of falling back
  bool input_order = false;       // --keep-split: tensors stay in the input's order (its shards and offsets)
  std::vector<int> prune_layers;  // --prune-layers: blocks to drop, sorted and unique
};

// What apply_preset did beyond the plan itself.
struct PresetReport {
  size_t fallbacks = 0;  // tensors whose row did not fit and took the fallback type
  size_t requantized = 0;
  size_t pruned = 0;  // tensors dropped by prune_layers
};

// "Q4_K_M" (case-insensitive, aliases and ftype numbers too) from preset_search_path(), or
// a path to a .yaml file.
Result<Preset> load_preset(const std::string& name_or_path);
// Parses one preset file; errors carry file:line:column.
Result<Preset> load_preset_file(const std::string& path);

// Every preset found on the search path (first occurrence of a name wins), sorted by name.
std::vector<Preset> list_presets();

// Sets each job's target encoding, puts the jobs in llama-quantize's order and rewrites the
// metadata (quantization_version, file_type, split keys removed, overrides appended); with
// prune_layers, drops those blocks, renumbers the rest and sets <arch>.block_count last.
Status apply_preset(const Preset& preset, const PresetOptions& options, Plan& plan, const CodecCatalog& catalog,
                    const ContainerDescriptor& container, PresetReport* report = nullptr);

// <root>/presets for every root of core::config_search_path().
std::vector<std::string> preset_search_path();

// llama.cpp's spelling of an encoding ("q4_K" for q4_k), used in messages it would print.
std::string ggml_type_name(const std::string& codec_name);

// Parses "TYPE:VALUE" of --override-kv into the value llama-quantize writes.
Result<MetaValue> parse_override_value(const std::string& key, const std::string& typed_value);

}  // namespace quantflow::pipeline
