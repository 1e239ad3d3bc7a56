// The `tensors:` rules of a recipe, compiled: first match wins. A rule matches when every
// predicate it states holds for the tensor (output name, layer, shape, sizes).
#pragma once

#include <optional>
#include <regex>
#include <string_view>
#include <vector>

#include "pipeline/recipe/recipe.hpp"

namespace quantflow::pipeline {

// The block number of `blk.N.`, `layers.N.` or `h.N.` in a tensor name.
std::optional<uint64_t> block_number_of(std::string_view name);

// Shell-style wildcard match of the whole name: `*`, `?` and `[...]`; `*` also spans dots.
bool glob_matches(const std::string& pattern, const std::string& name);

class CompiledRule {
 public:
  // Fails, naming the rule's position, when its regex does not compile.
  // `block_count` is the model's number of blocks, for `layers: use_more_bits`.
  static Result<CompiledRule> compile(const TensorRule& rule, uint64_t block_count = 0);

  // `name` is the output name; `layer_source` the name the layer number is read from when
  // the output name has none (the source name, before renaming).
  bool matches(const std::string& name, const std::string& layer_source, const Shape& shape) const;
  const TensorRule& rule() const { return *rule_; }

 private:
  const TensorRule* rule_ = nullptr;
  std::optional<std::regex> regex_;
  uint64_t block_count_ = 0;
};

Result<std::vector<CompiledRule>> compile_rules(const std::vector<TensorRule>& rules, uint64_t block_count = 0);

// The number of blocks of a model: one more than the largest block number in its tensor names.
uint64_t block_count_of(const std::vector<TensorInfo>& tensors);

// llama-quantize's use_more_bits (also mlx-lm's mixed recipes) for layer i of n.
bool use_more_bits(uint64_t i, uint64_t n);

// Index of the first matching rule, or nullopt.
std::optional<size_t> first_match(const std::vector<CompiledRule>& rules, const std::string& name,
                                  const std::string& layer_source, const Shape& shape);

}  // namespace quantflow::pipeline
