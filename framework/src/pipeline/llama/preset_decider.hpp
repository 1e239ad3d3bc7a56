// llama-quantize's per-tensor type decision (§5.6 of the conversion notes) driven by a
// Preset's rules: which encoding each tensor gets, in the order llama-quantize walks them.
// Internal to llama/preset.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pipeline/llama/llama_tensors.hpp"
#include "pipeline/llama/preset.hpp"

namespace quantflow::pipeline::preset_detail {

// Per-category positions llama-quantize advances while it walks the tensors.
struct Counters {
  int64_t attention_wv = 0;
  int64_t ffn_down = 0;
  int64_t ffn_gate = 0;
  int64_t ffn_up = 0;
};

// The counter a category advances, or null; const-ness follows `counters`.
template <typename CountersT>
auto counter_for(CountersT& counters, TensorCategory category) -> decltype(&counters.ffn_down) {
  if (is_attn_v_like(category)) return &counters.attention_wv;
  switch (category) {
    case TensorCategory::ffn_down:
      return &counters.ffn_down;
    case TensorCategory::ffn_gate:
      return &counters.ffn_gate;
    case TensorCategory::ffn_up:
      return &counters.ffn_up;
    default:
      return nullptr;
  }
}

inline bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

inline bool in_range(const LayerTest& test, int64_t i, int64_t n) {
  switch (test.range) {
    case LayerRange::first_eighth:
      return i < n / 8;
    case LayerRange::first_sixteenth:
      return i < n / 16;
    case LayerRange::use_more_bits:
      return use_more_bits(i, n);
    case LayerRange::middle:
      return i >= n / 8 && i < 7 * n / 8;
    case LayerRange::below:
      return i < test.below;
  }
  return false;
}

template <typename T>
bool contains(const std::vector<T>& list, const T& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// One tensor as the rules see it.
struct TensorView {
  const TensorInfo& tensor;
  TensorCategory category;
  bool output_role;  // output.weight, or token_embd.weight standing in for it (tied)
  uint64_t ne0;
};

class Decider {
 public:
  Decider(const Preset& preset, const PresetOptions& options, const LlamaModelFacts& facts, const CodecCatalog& catalog)
      : preset_(preset), options_(options), facts_(facts), catalog_(catalog) {}

  Status compile_patterns() {
    for (const auto& [pattern, type] : options_.tensor_types) {
      std::string lowered = canonical_dtype_name(pattern);
      try {
        patterns_.emplace_back(std::regex(lowered, std::regex::ECMAScript), canonical_dtype_name(type));
      } catch (const std::regex_error& e) {
        return usage_error(
            fmt::format("--tensor-type pattern '{}' is not a valid regular expression: {}", pattern, e.what()));
      }
      QF_RETURN_IF_ERROR(check_type(type, "--tensor-type " + pattern));
    }
    if (!options_.output_tensor_type.empty())
      QF_RETURN_IF_ERROR(check_type(options_.output_tensor_type, "--output-tensor-type"));
    if (!options_.token_embedding_type.empty())
      QF_RETURN_IF_ERROR(check_type(options_.token_embedding_type, "--token-embedding-type"));
    QF_RETURN_IF_ERROR(check_type(preset_.default_type, "preset " + preset_.name + "'s default_type"));
    return {};
  }

  // The encoding for `tensor`, or an empty string to keep its bytes as they are.
  Result<std::string> decide(const TensorInfo& tensor) {
    fallback_from_.clear();
    row_rule_from_.clear();
    const TensorCategory category = categorize_tensor(tensor.name);
    if (preset_.copy_only || !tensor_may_be_quantized(tensor)) return std::string();
    if (category == TensorCategory::output && options_.leave_output_tensor) return std::string();
    // Explicit output/embedding types win over everything and skip the fallback check.
    if (category == TensorCategory::token_embd && !options_.token_embedding_type.empty())
      return canonical_dtype_name(options_.token_embedding_type);
    if (category == TensorCategory::output && !options_.output_tensor_type.empty())
      return canonical_dtype_name(options_.output_tensor_type);

    std::string type = preset_.default_type;
    if (kind_of(type) != DTypeKind::quantized) return type;

    const TensorView view{
        tensor, category,
        category == TensorCategory::output || (category == TensorCategory::token_embd && facts_.has_tied_embeddings),
        row_length(tensor.shape)};
    bool manual = false;
    for (const auto& [regex, pattern_type] : patterns_) {
      if (std::regex_search(tensor.name, regex)) {
        type = pattern_type;
        manual = true;
        break;
      }
    }
    if (!manual && !options_.pure) {
      QF_ASSIGN_OR_RETURN(type, apply_rules(view, type));
      if (int64_t* counter = counter_for(counters_, category)) ++*counter;
    }
    QF_ASSIGN_OR_RETURN(std::string chosen, fallback(view, type));
    // A rule for rows that do not fit (llama's output.weight -> q8_0) is a fallback too.
    if (!row_rule_from_.empty()) {
      if (options_.no_fallback) return refuse_fallback(view, row_rule_from_, chosen);
      if (fallback_from_.empty()) ++fallbacks_;
      fallback_from_ = row_rule_from_;
    }
    return chosen;
  }

  size_t fallbacks() const { return fallbacks_; }
  // The type the last decide() wanted before it fell back; empty when it did not.
  const std::string& fallback_from() const { return fallback_from_; }

 private:
  Status check_type(const std::string& name, const std::string& what) const {
    if (catalog_.find(canonical_dtype_name(name)) == nullptr)
      return usage_error(fmt::format("{}: unknown type '{}'", what, name));
    return {};
  }

  DTypeKind kind_of(const std::string& type) const {
    const CodecDescriptor* codec = catalog_.find(type);
    return codec == nullptr ? DTypeKind::quantized : static_cast<DTypeKind>(codec->kind);
  }

  bool fits(const std::string& type, uint64_t ne0) const {
    const CodecDescriptor* codec = catalog_.find(type);
    return codec != nullptr && ne0 % codec->block_elems == 0;
  }

  Result<std::string> apply_rules(const TensorView& view, std::string type) {
    for (const auto& rule : preset_.rules) {
      QF_ASSIGN_OR_RETURN(const bool hit, matches(rule, view, type));
      if (!hit) continue;
      QF_ASSIGN_OR_RETURN(type, act_noting_row_rule(rule, type));
      break;
    }
    for (const auto& rule : preset_.adjustments) {
      QF_ASSIGN_OR_RETURN(const bool hit, matches(rule, view, type));
      if (!hit) continue;
      QF_ASSIGN_OR_RETURN(type, act_noting_row_rule(rule, type));
    }
    return type;
  }

  // act(), remembering the type a `row_fits: false` rule replaced (the first such one).
  Result<std::string> act_noting_row_rule(const PresetRule& rule, const std::string& current) {
    QF_ASSIGN_OR_RETURN(std::string type, act(rule, current));
    if (rule.when.row_fits == false && type != current && row_rule_from_.empty()) row_rule_from_ = current;
    return type;
  }

  Result<std::string> act(const PresetRule& rule, const std::string& current) const {
    switch (rule.action) {
      case PresetRule::Action::keep:
        return current;
      case PresetRule::Action::set_type:
        if (catalog_.find(rule.type) == nullptr)
          return unsupported(fmt::format("{}: no loaded codec provides '{}'", rule.origin, rule.type));
        return rule.type;
      case PresetRule::Action::from_option: {
        const std::string& value = option_value(rule.type);
        if (value.empty())
          return usage_error(
              fmt::format("{}: the rule uses --{} but it was not given (add option_given)", rule.origin, rule.type));
        return canonical_dtype_name(value);
      }
    }
    return current;
  }

  const std::string& option_value(const std::string& name) const {
    return name == "output_tensor_type" ? options_.output_tensor_type : options_.token_embedding_type;
  }

  // llama's (i, n) for the tensor's category (§5.7): the attention-value counter over the
  // number of such tensors; for FFN tensors the layer (from the name in MoE models, else the
  // counter) over block_count; for anything else the layer in its name.
  Result<std::pair<int64_t, int64_t>> position(const TensorView& view, LayerSource source) const {
    if (is_attn_v_like(view.category)) return std::pair{counters_.attention_wv, facts_.n_attention_wv};
    const int64_t n = facts_.block_count;
    const int64_t* counter = counter_for(counters_, view.category);
    if (counter != nullptr && (source == LayerSource::counter || std::max<int64_t>(1, facts_.n_expert) <= 1))
      return std::pair{*counter, n};
    const int layer = llama_layer_of(view.tensor.name);
    if (layer < 0) return bad_input("Failed to determine layer for tensor").with_tensor(view.tensor.name);
    if (layer >= n)
      return bad_input(fmt::format("Bad layer {} for tensor (block_count {})", layer, n)).with_tensor(view.tensor.name);
    return std::pair<int64_t, int64_t>{layer, n};
  }

  Result<bool> matches(const PresetRule& rule, const TensorView& view, const std::string& current) const {
    const bool category_ok = (rule.categories.empty() && !rule.output_role) ||
                             contains(rule.categories, view.category) || (rule.output_role && view.output_role);
    if (!category_ok) return false;
    const RuleCondition& c = rule.when;
    if (!c.arch.empty() && !contains(c.arch, facts_.arch)) return false;
    if (contains(c.not_arch, facts_.arch)) return false;
    if (c.row_fits && fits(current, view.ne0) != *c.row_fits) return false;
    if (c.has_imatrix && options_.has_imatrix != *c.has_imatrix) return false;
    if (c.is_70b && facts_.is_70b != *c.is_70b) return false;
    if (c.tied_embeddings && facts_.has_tied_embeddings != *c.tied_embeddings) return false;
    if (c.stacked_experts) {
      const auto& shape = view.tensor.shape;
      const bool stacked = shape.size() >= 3 && shape[shape.size() - 3] > 1;
      if (stacked != *c.stacked_experts) return false;
    }
    for (const auto& option : c.option_given)
      if (option_value(option).empty()) return false;
    if (c.n_gqa_at_least && facts_.n_gqa < *c.n_gqa_at_least) return false;
    if (c.n_expert_at_least && facts_.n_expert < *c.n_expert_at_least) return false;
    if (c.n_expert && facts_.n_expert != *c.n_expert) return false;
    if (!c.type_in.empty() && !contains(c.type_in, current)) return false;
    if (c.layer) {
      QF_ASSIGN_OR_RETURN(const auto at, position(view, c.layer->source));
      if (!in_range(*c.layer, at.first, at.second)) return false;
    }
    return true;
  }

  // §5.8: a row that does not fit the chosen block takes the preset's fallback, and F16 (the
  // last resort) when even that does not fit; --no-fallback refuses the tensor instead.
  Result<std::string> fallback(const TensorView& view, const std::string& type) {
    if (fits(type, view.ne0)) return type;
    QF_ASSIGN_OR_RETURN(std::string used, fallback_type(view, type));
    if (options_.no_fallback) return refuse_fallback(view, type, used);
    ++fallbacks_;
    fallback_from_ = type;
    return used;
  }

  Status refuse_fallback(const TensorView& view, const std::string& wanted, const std::string& used) const {
    const CodecDescriptor* codec = catalog_.find(wanted);
    return usage_error(fmt::format("row length {} is not a multiple of {}'s block of {}; --no-fallback refuses the "
                                   "fallback to {}",
                                   view.ne0, ggml_type_name(wanted), codec != nullptr ? codec->block_elems : 0,
                                   ggml_type_name(used)))
        .with_tensor(view.tensor.name);
  }

  Result<std::string> fallback_type(const TensorView& view, const std::string& type) const {
    auto it = std::find_if(preset_.fallbacks.begin(), preset_.fallbacks.end(),
                           [&](const auto& entry) { return entry.first == type; });
    if (it == preset_.fallbacks.end())
      return bad_input(fmt::format("no tensor type fallback is defined for type {} (row length {})",
                                   ggml_type_name(type), view.ne0))
          .with_tensor(view.tensor.name);
    if (fits(it->second, view.ne0)) return it->second;
    if (preset_.last_resort_type.empty() || !fits(preset_.last_resort_type, view.ne0))
      return bad_input(fmt::format("row length {} fits neither {} nor its fallback {}", view.ne0, type, it->second))
          .with_tensor(view.tensor.name);
    return preset_.last_resort_type;
  }

  const Preset& preset_;
  const PresetOptions& options_;
  const LlamaModelFacts& facts_;
  const CodecCatalog& catalog_;
  std::vector<std::pair<std::regex, std::string>> patterns_;
  Counters counters_;
  size_t fallbacks_ = 0;
  std::string fallback_from_;  // of the last decide()
  std::string row_rule_from_;  // of the last decide(): the type a row_fits: false rule replaced
};

}  // namespace quantflow::pipeline::preset_detail
