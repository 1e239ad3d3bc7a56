// Conversion recipes: a YAML file naming inputs, the output, metadata edits, tensor renames
// and per-tensor encoding rules. Parsing keeps every value's position so that each error
// reads `FILE:LINE:COLUMN: message`; nothing is opened or planned here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "quantflow/container.hpp"
#include "quantflow/metadata.hpp"
#include "quantflow/status.hpp"

namespace quantflow::pipeline {

// Where a value came from: the recipe file, or a `--set` override. 1-based line/column.
struct SourceMark {
  std::string origin;
  int line = 0;
  int column = 0;
  std::string to_string() const;
};

// A diagnostic pinned to a recipe position.
Status recipe_error(const SourceMark& mark, const std::string& message);

template <typename T>
struct Marked {
  T value{};
  SourceMark mark;
};

struct RecipeOutput {
  Marked<std::string> path;
  Marked<std::string> format;          // container name; empty: from the path's extension
  Marked<uint64_t> split_size;         // bytes of tensor data per shard; 0: no size limit
  Marked<uint64_t> split_max_tensors;  // tensors per shard; 0: no count limit (both 0: one file)
  Marked<std::string> compress;        // "none", "zstd" or "zstd:LEVEL"; empty: from the path (".zst")
  std::vector<std::pair<Marked<std::string>, std::string>> writer_options;
  Marked<std::string> report;  // JSON report with each tensor's round-trip error; empty: none
  Marked<bool> model_card;     // README.md beside the output
};

struct MetadataAssignment {
  Marked<std::string> key;
  MetaValue value;
};

struct MetadataCopy {
  Marked<std::string> key;       // destination key
  Marked<size_t> input;          // index into Recipe::inputs
  Marked<std::string> from_key;  // key in that input's metadata
};

struct MetadataEdits {
  std::vector<Marked<std::string>> remove;  // exact keys or globs; applied first
  std::vector<MetadataCopy> copy;
  std::vector<MetadataAssignment> set;  // applied last
};

struct RenameSpec {
  std::vector<std::pair<Marked<std::string>, Marked<std::string>>> names;  // source -> output name
  Marked<std::string> builtin;                                             // e.g. "hf-to-gguf"
  Marked<std::string> architecture;  // builtin map's architecture; empty: from config.json
  Marked<uint64_t> heads;            // attention heads; 0: from config.json
  Marked<uint64_t> kv_heads;         // key/value heads; 0: from config.json or heads
};

// What a matching rule does with the tensor.
enum class RuleAction { keep, skip, encode };

// One entry of `tensors:`; every present predicate must hold for a match.
struct TensorRule {
  SourceMark mark;  // the rule itself, for "matches nothing" warnings
  std::optional<Marked<std::string>> name;
  std::optional<Marked<std::string>> glob;
  std::optional<Marked<std::string>> regex;
  std::optional<Marked<std::vector<std::pair<uint64_t, uint64_t>>>> layers;  // inclusive ranges
  // `layers: use_more_bits`: the layers llama-quantize's and mlx-lm's mixtures widen, with L
  // the model's block count: i < L/8, i >= 7L/8, or (i - L/8) % 3 == 2.
  bool layers_use_more_bits = false;
  std::optional<Marked<std::vector<std::optional<uint64_t>>>> shape;  // nullopt: any extent
  std::optional<Marked<uint64_t>> dims;
  std::optional<Marked<uint64_t>> min_elements;
  std::optional<Marked<uint64_t>> max_elements;
  std::optional<Marked<uint64_t>> row_multiple_of;
  RuleAction action = RuleAction::keep;
  Marked<std::string> type;  // the encoding when action == encode
};

enum class RuleMode { all, allowlist };

struct Recipe {
  std::string file;
  std::vector<Marked<std::string>> inputs;  // resolved against the recipe's directory
  RecipeOutput output;
  MetadataEdits metadata;
  RenameSpec rename;
  std::vector<TensorRule> rules;
  Marked<std::string> default_type;
  Marked<std::string> protected_type;  // what norms, embeddings and 1-D tensors stay in
  Marked<RuleMode> mode;
  std::vector<Marked<std::string>> fallback;  // empty: rows that do not fit are an error
  SourceMark fallback_mark;
  Marked<std::string> imatrix;
  Marked<int> threads;
  Marked<uint64_t> memory_limit;
  Marked<std::string> preset;
  YAML::Node preset_options;  // handed to the preset module as written
  SourceMark preset_options_mark;
  // Set when a recipe preset's rules were appended to `rules` (expand_recipe_preset): rules from
  // this file are the preset's, and one that matches no tensor of this model is not a mistake.
  std::string preset_rules_file;
};

// `key=value` (dotted key, YAML value) overrides applied to the document before parsing.
struct RecipeOverride {
  std::string key;
  std::string value;
};
Result<RecipeOverride> parse_override(const std::string& text);

// Parses `path` with `overrides` applied. Checks structure and value types only.
Result<Recipe> load_recipe(const std::string& path, const std::vector<RecipeOverride>& overrides = {});
// The same from text; `origin` names it in messages, relative paths resolve against `base_dir`.
Result<Recipe> parse_recipe(const std::string& text, const std::string& origin, const std::string& base_dir,
                            const std::vector<RecipeOverride>& overrides = {});
// The same from a document already parsed (a batch job's recipe, assembled from the batch file):
// positions in messages are the nodes' own, under `origin`.
Result<Recipe> parse_recipe_node(YAML::Node root, const std::string& origin, const std::string& base_dir);

}  // namespace quantflow::pipeline
