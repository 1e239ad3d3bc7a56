// What llama-quantize knows about a model, independent of the chosen mixture: the category of
// each tensor (from its GGUF name), which tensors may be quantized at all, the order it
// visits tensors in, and the model-level facts its rules test (GQA ratio, experts, 70B).
// Nothing here names an ftype; presets (preset.hpp) decide types from these facts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quantflow/metadata.hpp"
#include "quantflow/status.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow::pipeline {

// §5.3 of the conversion notes; `other` catches everything unnamed.
enum class TensorCategory : uint8_t {
  output,
  token_embd,
  attn_qkv,
  attn_kv_b,
  attn_v,
  attn_k,
  attn_q,
  attn_output,
  ffn_up,
  ffn_gate,
  ffn_down,
  other,
};
inline constexpr size_t kTensorCategoryCount = static_cast<size_t>(TensorCategory::other) + 1;

const char* tensor_category_name(TensorCategory category);
std::optional<TensorCategory> tensor_category_from_name(std::string_view name);

// The first test of the table that matches the GGUF tensor name wins.
TensorCategory categorize_tensor(std::string_view tensor_name);

// attn_v, attn_qkv and attn_kv_b share the attention-value counter and rules.
bool is_attn_v_like(TensorCategory category);

// §5.4 without the options: false for vectors, non-weights, norms and the tensors llama.cpp
// never quantizes (router gates, convolutions, position embeddings, ...).
bool tensor_may_be_quantized(const TensorInfo& tensor);

// `N` for names starting "blk.N.", else -1 (llama's layer comparator and MoE layer parse).
int llama_layer_of(std::string_view tensor_name);

// Indices of `tensors` in llama-quantize's traversal order: by layer (-1 first), then by
// byte-wise name comparison.
std::vector<size_t> llama_tensor_order(const std::vector<TensorInfo>& tensors);

// Model-level values read from the (override-applied) metadata and the tensor list (§5.5).
struct LlamaModelFacts {
  std::string arch;
  int64_t block_count = 0;
  int64_t n_gqa = 0;
  int64_t n_expert = 0;
  bool is_70b = false;
  bool has_tied_embeddings = false;
  int64_t n_attention_wv = 0;
};

LlamaModelFacts read_model_facts(const Metadata& metadata, const std::vector<TensorInfo>& tensors);

}  // namespace quantflow::pipeline
