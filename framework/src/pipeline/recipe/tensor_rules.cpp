#include <algorithm>
#include "pipeline/recipe/tensor_rules.hpp"

#include <fnmatch.h>

#include <charconv>

#include <fmt/format.h>

namespace quantflow::pipeline {

namespace {

// Name parts that introduce a block number in the conventions we meet: GGUF, HF llama, GPT-2.
constexpr std::string_view kLayerPrefixes[] = {"blk", "layers", "h"};

bool in_ranges(uint64_t value, const std::vector<std::pair<uint64_t, uint64_t>>& ranges) {
  for (const auto& [lo, hi] : ranges)
    if (value >= lo && value <= hi) return true;
  return false;
}

bool shape_matches(const std::vector<std::optional<uint64_t>>& pattern, const Shape& shape) {
  if (pattern.size() != shape.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i)
    if (pattern[i] && *pattern[i] != shape[i]) return false;
  return true;
}

}  // namespace

std::optional<uint64_t> block_number_of(std::string_view name) {
  std::string_view previous;
  while (!name.empty()) {
    const size_t dot = name.find('.');
    const std::string_view part = name.substr(0, dot);
    for (const auto prefix : kLayerPrefixes) {
      uint64_t layer = 0;
      const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), layer);
      if (previous == prefix && ec == std::errc() && end == part.data() + part.size() && !part.empty()) return layer;
    }
    if (dot == std::string_view::npos) break;
    previous = part;
    name.remove_prefix(dot + 1);
  }
  return std::nullopt;
}

bool glob_matches(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

Result<CompiledRule> CompiledRule::compile(const TensorRule& rule, uint64_t block_count) {
  CompiledRule out;
  out.rule_ = &rule;
  out.block_count_ = block_count;
  if (rule.regex) {
    try {
      out.regex_.emplace(rule.regex->value, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return recipe_error(rule.regex->mark, fmt::format("invalid regex '{}': {}", rule.regex->value, e.what()));
    }
  }
  return out;
}

bool CompiledRule::matches(const std::string& name, const std::string& layer_source, const Shape& shape) const {
  const TensorRule& r = *rule_;
  if (r.name && r.name->value != name) return false;
  if (r.glob && !glob_matches(r.glob->value, name)) return false;
  if (regex_ && !std::regex_search(name, *regex_)) return false;
  if (r.layers) {
    auto layer = block_number_of(name);
    if (!layer) layer = block_number_of(layer_source);
    if (!layer || !in_ranges(*layer, r.layers->value)) return false;
  }
  if (r.layers_use_more_bits) {
    auto layer = block_number_of(name);
    if (!layer) layer = block_number_of(layer_source);
    if (!layer || !use_more_bits(*layer, block_count_)) return false;
  }
  if (r.shape && !shape_matches(r.shape->value, shape)) return false;
  if (r.dims && r.dims->value != shape.size()) return false;
  const uint64_t elements = element_count(shape);
  if (r.min_elements && elements < r.min_elements->value) return false;
  if (r.max_elements && elements > r.max_elements->value) return false;
  if (r.row_multiple_of && row_length(shape) % r.row_multiple_of->value != 0) return false;
  return true;
}

bool use_more_bits(uint64_t i, uint64_t n) {
  const auto layer = static_cast<int64_t>(i), first = static_cast<int64_t>(n / 8);
  return i < n / 8 || i >= 7 * n / 8 || (layer - first) % 3 == 2;
}

uint64_t block_count_of(const std::vector<TensorInfo>& tensors) {
  uint64_t count = 0;
  for (const auto& t : tensors)
    if (const auto block = block_number_of(t.name)) count = std::max(count, *block + 1);
  return count;
}

Result<std::vector<CompiledRule>> compile_rules(const std::vector<TensorRule>& rules, uint64_t block_count) {
  std::vector<CompiledRule> out;
  out.reserve(rules.size());
  for (const auto& rule : rules) {
    QF_ASSIGN_OR_RETURN(auto compiled, CompiledRule::compile(rule, block_count));
    out.push_back(std::move(compiled));
  }
  return out;
}

std::optional<size_t> first_match(const std::vector<CompiledRule>& rules, const std::string& name,
                                  const std::string& layer_source, const Shape& shape) {
  for (size_t i = 0; i < rules.size(); ++i)
    if (rules[i].matches(name, layer_source, shape)) return i;
  return std::nullopt;
}

}  // namespace quantflow::pipeline
