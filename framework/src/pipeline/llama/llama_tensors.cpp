#include "pipeline/llama/llama_tensors.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace quantflow::pipeline {

namespace {

struct CategoryTest {
  enum class Match { equals, contains } match;
  std::string_view text;
  TensorCategory category;
};

// Order matters: attn_v's test must run before attn_k's would ever see "attn_kv_b", etc.
constexpr std::array kCategoryTests = {
    CategoryTest{CategoryTest::Match::equals, "output.weight", TensorCategory::output},
    CategoryTest{CategoryTest::Match::equals, "token_embd.weight", TensorCategory::token_embd},
    CategoryTest{CategoryTest::Match::equals, "per_layer_token_embd.weight", TensorCategory::token_embd},
    CategoryTest{CategoryTest::Match::contains, "attn_qkv.weight", TensorCategory::attn_qkv},
    CategoryTest{CategoryTest::Match::contains, "attn_kv_b.weight", TensorCategory::attn_kv_b},
    CategoryTest{CategoryTest::Match::contains, "attn_v.weight", TensorCategory::attn_v},
    CategoryTest{CategoryTest::Match::contains, "attn_k.weight", TensorCategory::attn_k},
    CategoryTest{CategoryTest::Match::contains, "attn_q.weight", TensorCategory::attn_q},
    CategoryTest{CategoryTest::Match::contains, "attn_output.weight", TensorCategory::attn_output},
    CategoryTest{CategoryTest::Match::contains, "ffn_up", TensorCategory::ffn_up},
    CategoryTest{CategoryTest::Match::contains, "ffn_gate", TensorCategory::ffn_gate},
    CategoryTest{CategoryTest::Match::contains, "ffn_down", TensorCategory::ffn_down},
};

constexpr std::array<const char*, kTensorCategoryCount> kCategoryNames = {
    "output", "token_embd",  "attn_qkv", "attn_kv_b", "attn_v",   "attn_k",
    "attn_q", "attn_output", "ffn_up",   "ffn_gate",  "ffn_down", "other"};

// Substrings of names llama.cpp never quantizes: routers, convolutions, position and
// patch embeddings, RWKV time-mix parameters and similar small or sensitive tensors.
constexpr std::array<std::string_view, 35> kNeverQuantizedParts = {
    "ffn_gate_inp.weight",
    "ffn_gate_tid2eid.weight",
    "altup",
    "laurel",
    "per_layer_model_proj",
    "ssm_conv1d",
    "shortconv.conv.weight",
    "indexer.k_proj.weight",
    "indexer.q_proj.weight",
    "attn_rel_b.weight",
    "time_mix_first.weight",
    "time_mix_w0.weight",
    "time_mix_w1.weight",
    "time_mix_w2.weight",
    "time_mix_v0.weight",
    "time_mix_v1.weight",
    "time_mix_v2.weight",
    "time_mix_a0.weight",
    "time_mix_a1.weight",
    "time_mix_a2.weight",
    "time_mix_g1.weight",
    "time_mix_g2.weight",
    "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight",
    ".position_embd",
    "sam.pos_embd",
    "sam.neck.",
    "sam.net_",
    ".rel_pos",
    ".patch_embd",
    ".patch_merger",
    "a.rvq.codebook",
    "mm.a.code_embd",
    "_norm.weight",
};

constexpr std::array<std::string_view, 2> kNeverQuantizedNames = {"position_embd.weight", "token_types.weight"};

// Architectures whose 80-layer variants llama.cpp classifies as 70B (which bumps attn_v).
struct SeventyBRule {
  std::string_view arch;
  int64_t block_count;
  bool requires_gqa;  // llama's 65B has 80 layers too but no grouped-query attention
};
constexpr std::array kSeventyBRules = {
    SeventyBRule{"llama", 80, true},
    SeventyBRule{"qwen2", 80, false},
};

int64_t first_integer(const MetaValue* value, int64_t fallback) {
  if (value == nullptr) return fallback;
  if (value->type == MetaType::array) {
    if (value->elements.empty() || !value->elements.front().is_integer()) return fallback;
    return value->elements.front().as_i64();
  }
  return value->is_integer() ? value->as_i64() : fallback;
}

}  // namespace

const char* tensor_category_name(TensorCategory category) { return kCategoryNames[static_cast<size_t>(category)]; }

std::optional<TensorCategory> tensor_category_from_name(std::string_view name) {
  for (size_t i = 0; i < kCategoryNames.size(); ++i)
    if (name == kCategoryNames[i]) return static_cast<TensorCategory>(i);
  return std::nullopt;
}

TensorCategory categorize_tensor(std::string_view tensor_name) {
  for (const auto& test : kCategoryTests) {
    const bool hit = test.match == CategoryTest::Match::equals ? tensor_name == test.text
                                                               : tensor_name.find(test.text) != std::string_view::npos;
    if (hit) return test.category;
  }
  return TensorCategory::other;
}

bool is_attn_v_like(TensorCategory category) {
  return category == TensorCategory::attn_v || category == TensorCategory::attn_qkv ||
         category == TensorCategory::attn_kv_b;
}

bool tensor_may_be_quantized(const TensorInfo& tensor) {
  const std::string_view name = tensor.name;
  if (tensor.shape.size() < 2) return false;
  if (!name.ends_with("weight")) return false;
  for (auto part : kNeverQuantizedParts)
    if (name.find(part) != std::string_view::npos) return false;
  for (auto exact : kNeverQuantizedNames)
    if (name == exact) return false;
  return true;
}

int llama_layer_of(std::string_view tensor_name) {
  if (!tensor_name.starts_with("blk.")) return -1;
  tensor_name.remove_prefix(4);
  int64_t value = 0;
  size_t digits = 0;
  bool negative = false;
  if (!tensor_name.empty() && (tensor_name[0] == '-' || tensor_name[0] == '+')) {
    negative = tensor_name[0] == '-';
    tensor_name.remove_prefix(1);
  }
  while (digits < tensor_name.size() && tensor_name[digits] >= '0' && tensor_name[digits] <= '9' && digits < 10)
    value = value * 10 + (tensor_name[digits++] - '0');
  if (digits == 0 || digits >= tensor_name.size() || tensor_name[digits] != '.') return -1;
  return static_cast<int>(negative ? -value : value);
}

std::vector<size_t> llama_tensor_order(const std::vector<TensorInfo>& tensors) {
  std::vector<size_t> order(tensors.size());
  std::vector<int> layers(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    order[i] = i;
    layers[i] = llama_layer_of(tensors[i].name);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (layers[a] != layers[b]) return layers[a] < layers[b];
    return tensors[a].name < tensors[b].name;
  });
  return order;
}

LlamaModelFacts read_model_facts(const Metadata& metadata, const std::vector<TensorInfo>& tensors) {
  LlamaModelFacts facts;
  if (const MetaValue* arch = metadata.find("general.architecture"); arch && arch->type == MetaType::string)
    facts.arch = arch->text;
  const std::string prefix = facts.arch + ".";
  facts.block_count = first_integer(metadata.find(prefix + "block_count"), 0);
  const int64_t n_head = first_integer(metadata.find(prefix + "attention.head_count"), 0);
  const int64_t n_head_kv = first_integer(metadata.find(prefix + "attention.head_count_kv"), n_head);
  facts.n_gqa = n_head_kv == 0 ? 0 : n_head / n_head_kv;
  facts.n_expert = first_integer(metadata.find(prefix + "expert_count"), 0);
  for (const auto& rule : kSeventyBRules)
    if (facts.arch == rule.arch && facts.block_count == rule.block_count && (!rule.requires_gqa || n_head != n_head_kv))
      facts.is_70b = true;
  facts.has_tied_embeddings = true;
  for (const auto& tensor : tensors) {
    if (tensor.name == "output.weight") facts.has_tied_embeddings = false;
    if (is_attn_v_like(categorize_tensor(tensor.name))) ++facts.n_attention_wv;
  }
  return facts;
}

}  // namespace quantflow::pipeline
