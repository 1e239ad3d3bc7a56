#include "core/synthetic_model.hpp"

#include <cmath>
#include <cstring>
#include <vector>

namespace quantflow::core {

namespace {

const DType kF32{"f32", 1, 4, DTypeKind::floating};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

class SyntheticReader final : public Reader {
 public:
  explicit SyntheticReader(const SyntheticModelShape& shape) : shape_(shape) {
    const uint64_t head_dim = shape.hidden / shape.heads;
    const uint64_t kv_dim = head_dim * shape.kv_heads;
    auto u32 = [](uint64_t v) { return MetaValue::make_u32(static_cast<uint32_t>(v)); };
    metadata_.append("general.architecture", MetaValue::make_string("llama"));
    metadata_.append("general.name", MetaValue::make_string(shape.name));
    metadata_.append("llama.context_length", u32(2048));
    metadata_.append("llama.embedding_length", u32(shape.hidden));
    metadata_.append("llama.block_count", u32(shape.layers));
    metadata_.append("llama.feed_forward_length", u32(shape.ffn));
    metadata_.append("llama.rope.dimension_count", u32(head_dim));
    metadata_.append("llama.attention.head_count", u32(shape.heads));
    metadata_.append("llama.attention.head_count_kv", u32(shape.kv_heads));
    metadata_.append("llama.attention.layer_norm_rms_epsilon", MetaValue::make_f32(1e-5f));
    metadata_.append("general.file_type", u32(0));

    add("token_embd.weight", {shape.vocab, shape.hidden});
    for (uint64_t l = 0; l < shape.layers; ++l) {
      const std::string p = "blk." + std::to_string(l) + ".";
      add(p + "attn_norm.weight", {shape.hidden});
      add(p + "attn_q.weight", {shape.hidden, shape.hidden});
      add(p + "attn_k.weight", {kv_dim, shape.hidden});
      add(p + "attn_v.weight", {kv_dim, shape.hidden});
      add(p + "attn_output.weight", {shape.hidden, shape.hidden});
      add(p + "ffn_norm.weight", {shape.hidden});
      add(p + "ffn_gate.weight", {shape.ffn, shape.hidden});
      add(p + "ffn_up.weight", {shape.ffn, shape.hidden});
      add(p + "ffn_down.weight", {shape.hidden, shape.ffn});
    }
    add("output_norm.weight", {shape.hidden});
    add("output.weight", {shape.vocab, shape.hidden});
  }

  std::string container() const override { return "synthetic"; }
  std::string version() const override { return ""; }
  const Metadata& metadata() const override { return metadata_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }

  Result<TensorData> read(size_t index) const override {
    const TensorInfo& t = tensors_.at(index);
    auto values = std::make_shared<std::vector<float>>(element_count(t.shape));
    // Norm weights near 1, matrices gaussian with std 0.02 (a trained model's scale).
    const bool is_norm = t.shape.size() == 1;
    uint64_t s = (fnv1a(t.name) ^ (shape_.seed * 0x9E3779B97F4A7C15ull)) | 1;
    auto uniform = [&s] {
      s ^= s >> 12;
      s ^= s << 25;
      s ^= s >> 27;
      return static_cast<double>((s * 2685821657736338717ull) >> 11) * 0x1p-53;
    };
    for (size_t i = 0; i < values->size(); i += 2) {
      const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
      const double r = std::sqrt(-2.0 * std::log(u1));
      const double g0 = r * std::cos(2.0 * M_PI * u2), g1 = r * std::sin(2.0 * M_PI * u2);
      (*values)[i] = static_cast<float>(is_norm ? 1.0 + 0.1 * g0 : 0.02 * g0);
      if (i + 1 < values->size()) (*values)[i + 1] = static_cast<float>(is_norm ? 1.0 + 0.1 * g1 : 0.02 * g1);
    }
    TensorData data;
    data.bytes = std::as_bytes(std::span<const float>(*values));
    data.owner = values;
    return data;
  }

 private:
  void add(std::string name, Shape shape) {
    TensorInfo t;
    t.name = std::move(name);
    t.dtype = kF32;
    t.n_bytes = element_count(shape) * 4;
    t.shape = std::move(shape);
    tensors_.push_back(std::move(t));
  }

  SyntheticModelShape shape_;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
};

}  // namespace

std::unique_ptr<Reader> make_synthetic_model(const SyntheticModelShape& shape) {
  return std::make_unique<SyntheticReader>(shape);
}

}  // namespace quantflow::core
