#include "metadata/metadata_fields.hpp"

#include <cmath>

namespace quantflow::apr {

namespace {

using K = FieldKind;
using A = Absent;

constexpr SubField kQuantization[] = {
    {"quant_type", K::string, A::zero},
    {"bits", K::u32, A::zero},
    {"block_size", K::u32, A::null},
    {"symmetric", K::boolean, A::zero},
};

constexpr SubField kSharding[] = {
    {"shard_count", K::u32, A::zero},
    {"shard_index", K::u32, A::zero},
    {"total_size", K::u64, A::zero},
    {"pattern", K::string, A::null},
};

constexpr SubField kSpecialTokens[] = {
    {"bos_token", K::string, A::null}, {"eos_token", K::string, A::null},      {"unk_token", K::string, A::null},
    {"pad_token", K::string, A::null}, {"im_start_token", K::string, A::null}, {"im_end_token", K::string, A::null},
};

constexpr Field scalar(std::string_view json_key, std::string_view meta_key, FieldKind kind, Absent absent) {
  return {json_key, meta_key, kind, absent, {}};
}
constexpr Field object(std::string_view json_key, std::span<const SubField> members) {
  return {json_key, {}, K::object, A::skip, members};
}

const Field kFields[] = {
    scalar("model_type", "apr.model_type", K::string, A::zero),
    scalar("name", "general.name", K::string, A::skip),
    scalar("description", "general.description", K::string, A::skip),
    scalar("author", "general.author", K::string, A::skip),
    scalar("license", "general.license", K::string, A::null),
    scalar("data_source", "apr.data_source", K::string, A::null),
    scalar("data_license", "apr.data_license", K::string, A::null),
    scalar("version", "general.version", K::string, A::skip),
    scalar("source", "apr.source", K::string, A::skip),
    scalar("original_format", "apr.original_format", K::string, A::skip),
    scalar("created_at", "apr.created_at", K::string, A::skip),
    scalar("total_size", "apr.total_size", K::u64, A::zero),
    scalar("param_count", "apr.param_count", K::u64, A::zero),
    object("quantization", kQuantization),
    object("sharding", kSharding),
    scalar("chat_template", "tokenizer.chat_template", K::string, A::skip),
    scalar("chat_format", "apr.chat_format", K::string, A::skip),
    object("special_tokens", kSpecialTokens),
    scalar("architecture", "general.architecture", K::string, A::skip),
    scalar("hf_architecture", "apr.hf_architecture", K::string, A::skip),
    scalar("hf_model_type", "apr.hf_model_type", K::string, A::skip),
    scalar("hidden_size", ".embedding_length", K::u32, A::skip),
    scalar("num_layers", ".block_count", K::u32, A::skip),
    scalar("num_heads", ".attention.head_count", K::u32, A::skip),
    scalar("num_kv_heads", ".attention.head_count_kv", K::u32, A::skip),
    scalar("vocab_size", ".vocab_size", K::u32, A::skip),
    scalar("intermediate_size", ".feed_forward_length", K::u32, A::skip),
    scalar("max_position_embeddings", ".context_length", K::u32, A::skip),
    scalar("head_dim", ".attention.key_length", K::u32, A::skip),
    scalar("num_experts", ".expert_count", K::u32, A::skip),
    scalar("num_experts_per_tok", ".expert_used_count", K::u32, A::skip),
    scalar("moe_intermediate_size", ".expert_feed_forward_length", K::u32, A::skip),
    scalar("rope_theta", ".rope.freq_base", K::f32, A::skip),
    scalar("rms_norm_eps", ".attention.layer_norm_rms_epsilon", K::f32, A::skip),
    scalar("rope_type", "apr.rope_type", K::u32, A::skip),
};

// Hugging Face spellings some readers accept (§5); a file must not hold both.
constexpr struct {
  std::string_view alias, field;
} kAliases[] = {
    {"num_hidden_layers", "num_layers"},
    {"num_attention_heads", "num_heads"},
    {"num_key_value_heads", "num_kv_heads"},
    {"hidden_dim", "hidden_size"},
    {"d_model", "hidden_size"},
    {"n_embd", "hidden_size"},
    {"n_vocab", "vocab_size"},
    {"ffn_dim", "intermediate_size"},
    {"max_seq_len", "max_position_embeddings"},
};

}  // namespace

std::span<const Field> fields() { return kFields; }

const Field* find_field(std::string_view json_key) {
  for (const auto& f : kFields)
    if (f.json_key == json_key) return &f;
  return nullptr;
}

std::string meta_key_of(const Field& field, std::string_view arch) {
  if (!field.meta_key.starts_with('.')) return std::string(field.meta_key);
  if (arch.empty()) return "apr." + std::string(field.json_key);
  return std::string(arch) + std::string(field.meta_key);
}

std::string meta_key_of(const Field& object, const SubField& member) {
  return "apr." + std::string(object.json_key) + "." + std::string(member.key);
}

std::optional<Location> locate(std::string_view meta_key, std::string_view arch) {
  for (const auto& f : kFields) {
    if (f.kind == K::object) {
      for (const auto& m : f.members)
        if (meta_key == meta_key_of(f, m)) return Location{&f, &m};
      continue;
    }
    // Per-architecture fields answer to both spellings: "<arch>.x" and "apr.<field>".
    if (meta_key == meta_key_of(f, arch) || (f.meta_key.starts_with('.') && meta_key == meta_key_of(f, "")))
      return Location{&f, nullptr};
  }
  return std::nullopt;
}

const Field* field_of_alias(std::string_view key) {
  for (const auto& a : kAliases)
    if (a.alias == key) return find_field(a.field);
  return nullptr;
}

bool is_zero(const MetaValue& v) {
  if (v.type == MetaType::string) return v.text.empty();
  return (v.is_integer() || v.type == MetaType::boolean) && v.integer == 0;
}

bool fits_kind(const MetaValue& v, FieldKind kind) {
  switch (kind) {
    case K::string:
      return v.type == MetaType::string;
    case K::u64:
    case K::u32:
      return v.is_integer() && (!v.is_signed() || v.as_i64() >= 0);
    case K::f32:
      return (v.type == MetaType::f32 || v.type == MetaType::f64) && std::isfinite(v.real);
    case K::boolean:
      return v.type == MetaType::boolean;
    case K::object:
      return false;
  }
  return false;
}

}  // namespace quantflow::apr
