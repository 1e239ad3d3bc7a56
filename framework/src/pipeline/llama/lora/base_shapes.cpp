#include "pipeline/llama/lora/base_shapes.hpp"

#include <charconv>
#include <span>
#include <string_view>

#include <fmt/format.h>

namespace quantflow::pipeline::lora {

namespace {

// A width of the model, from config.json.
enum class Width : uint8_t { hidden, q_rows, kv_rows, qkv_rows, ffn, vocab, positions };

struct BaseMatrix {
  std::string_view name;  // after "blk.N." for layer tensors
  Width out;
  Width in;
};

// hf-to-gguf.md §1: every matrix a LoRA may target, [out, in] as GGUF holds it.
constexpr BaseMatrix kLlamaMatrices[] = {
    {"attn_q.weight", Width::q_rows, Width::hidden},  {"attn_k.weight", Width::kv_rows, Width::hidden},
    {"attn_v.weight", Width::kv_rows, Width::hidden}, {"attn_output.weight", Width::hidden, Width::q_rows},
    {"ffn_gate.weight", Width::ffn, Width::hidden},   {"ffn_up.weight", Width::ffn, Width::hidden},
    {"ffn_down.weight", Width::hidden, Width::ffn},   {"token_embd.weight", Width::vocab, Width::hidden},
    {"output.weight", Width::vocab, Width::hidden},
};
constexpr BaseMatrix kGpt2Matrices[] = {
    {"attn_qkv.weight", Width::qkv_rows, Width::hidden},
    {"attn_output.weight", Width::hidden, Width::hidden},
    {"ffn_up.weight", Width::ffn, Width::hidden},
    {"ffn_down.weight", Width::hidden, Width::ffn},
    {"token_embd.weight", Width::vocab, Width::hidden},
    {"output.weight", Width::vocab, Width::hidden},
    {"position_embd.weight", Width::positions, Width::hidden},
};

std::span<const BaseMatrix> matrices_of(const std::string& architecture) {
  if (architecture == "gpt2") return kGpt2Matrices;
  return kLlamaMatrices;
}

std::optional<uint64_t> count(const nlohmann::json& hp, std::initializer_list<const char*> keys) {
  const nlohmann::json* value = hf::first_present(hp, keys);
  if (value == nullptr || !value->is_number_integer() || value->get<int64_t>() < 0) return std::nullopt;
  return value->get<uint64_t>();
}

std::optional<uint64_t> width(const hf::Checkpoint& base, Width which) {
  const nlohmann::json& hp = base.hparams;
  const auto hidden = count(hp, {"hidden_size", "n_embd", "dim"});
  const bool gpt2 = base.arch.architecture == "gpt2";
  const auto head_dim = [&]() -> std::optional<uint64_t> {
    if (auto explicit_dim = count(hp, {"head_dim"})) return explicit_dim;
    if (!hidden || base.arch.heads == 0) return std::nullopt;
    return *hidden / base.arch.heads;
  };
  switch (which) {
    case Width::hidden:
      return hidden;
    case Width::q_rows:
      if (auto d = head_dim()) return base.arch.heads * *d;
      return std::nullopt;
    case Width::kv_rows:
      if (auto d = head_dim()) return base.arch.kv_heads * *d;
      return std::nullopt;
    case Width::qkv_rows:
      if (hidden) return 3 * *hidden;
      return std::nullopt;
    case Width::ffn:
      // GPT-2's MLP is n_inner wide, 4 * n_embd when n_inner is null.
      if (gpt2) {
        if (auto inner = count(hp, {"n_inner"})) return inner;
        if (hidden) return 4 * *hidden;
        return std::nullopt;
      }
      return count(hp, {"intermediate_size"});
    case Width::vocab:
      return count(hp, {"vocab_size"});
    case Width::positions:
      return count(hp, {"n_positions", "max_position_embeddings", "n_ctx"});
  }
  return std::nullopt;
}

}  // namespace

Result<std::optional<Shape>> base_matrix_shape(const hf::Checkpoint& base, const std::string& gguf_name) {
  std::string_view name = gguf_name;
  constexpr std::string_view kBlock = "blk.";
  if (name.substr(0, kBlock.size()) == kBlock) {
    const size_t dot = name.find('.', kBlock.size());
    if (dot == std::string_view::npos) return std::optional<Shape>();
    const std::string_view digits = name.substr(kBlock.size(), dot - kBlock.size());
    uint64_t layer = 0;
    if (std::from_chars(digits.data(), digits.data() + digits.size(), layer).ec != std::errc())
      return std::optional<Shape>();
    const auto layers = count(base.hparams, {"n_layers", "num_hidden_layers", "n_layer", "num_layers"});
    if (layers && layer >= *layers)
      return bad_input(fmt::format("the base model has {} layers (config.json), no layer {}", *layers, layer));
    name.remove_prefix(dot + 1);
  }
  for (const BaseMatrix& matrix : matrices_of(base.arch.architecture)) {
    if (matrix.name != name) continue;
    const auto out = width(base, matrix.out), in = width(base, matrix.in);
    if (!out || !in) return std::optional<Shape>();
    return std::optional<Shape>(Shape{*out, *in});
  }
  return std::optional<Shape>();
}

bool ties_output_to_embeddings(const hf::Checkpoint& base) {
  const auto tie = base.hparams.find("tie_word_embeddings");
  if (tie != base.hparams.end() && tie->is_boolean()) return tie->get<bool>();
  return base.arch.architecture == "gpt2";  // GPT2Config keeps PretrainedConfig's default; the others set false
}

}  // namespace quantflow::pipeline::lora
