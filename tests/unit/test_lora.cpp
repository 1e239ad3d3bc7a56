// The pieces of the LoRA adapter conversion (framework/src/pipeline/llama/lora): PEFT tensor
// names to roles, the base matrix shapes a config.json gives, and the alpha written.
#include "pipeline/llama/lora/adapter_config.hpp"
#include "pipeline/llama/lora/base_shapes.hpp"
#include "pipeline/llama/lora/tensor_roles.hpp"
#include "support/test_support.hpp"

using namespace quantflow;
using namespace quantflow::pipeline;
using Kind = lora::TensorRole::Kind;

namespace {

hf::Checkpoint base_of(const std::string& architecture, nlohmann::json hparams, uint64_t heads, uint64_t kv_heads) {
  hf::Checkpoint base;
  base.hparams = std::move(hparams);
  base.arch = {.architecture = architecture, .heads = heads, .kv_heads = kv_heads};
  return base;
}

std::optional<Shape> shape_of(const hf::Checkpoint& base, const std::string& name) {
  auto shape = lora::base_matrix_shape(base, name);
  BOOST_REQUIRE_MESSAGE(shape.ok(), shape.status().to_string());
  return *shape;
}

}  // namespace

BOOST_AUTO_TEST_CASE(peft_names_give_the_role_and_the_base_weight) {
  struct Case {
    const char* name;
    Kind kind;
    const char* base_name;
  };
  const Case cases[] = {
      {"base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", Kind::lora_a,
       "transformer.h.0.attn.c_attn.weight"},
      {"base_model.model.model.layers.3.self_attn.q_proj.lora_B.weight", Kind::lora_b,
       "model.layers.3.self_attn.q_proj.weight"},
      {"base_model.model.model.embed_tokens.lora_embedding_A", Kind::embedding_a, "model.embed_tokens.weight"},
      {"base_model.model.model.embed_tokens.lora_embedding_B", Kind::embedding_b, "model.embed_tokens.weight"},
      {"base_model.model.model.layers.0.mlp.up_proj.base_layer.weight", Kind::base_layer,
       "model.layers.0.mlp.up_proj.weight"},
      {"base_model.model.score.weight", Kind::full, "score.weight"},
      {"lm_head.lora_A.weight", Kind::lora_a, "lm_head.weight"},  // without PEFT's prefix
  };
  for (const Case& c : cases) {
    const lora::TensorRole role = lora::tensor_role(c.name);
    BOOST_CHECK_MESSAGE(role.kind == c.kind, c.name);
    BOOST_CHECK_EQUAL(role.base_name, c.base_name);
  }
}

BOOST_AUTO_TEST_CASE(base_matrix_shapes_come_from_the_config) {
  const auto gpt2 =
      base_of("gpt2", {{"n_embd", 768}, {"n_layer", 12}, {"n_inner", nullptr}, {"vocab_size", 50257}}, 12, 12);
  BOOST_CHECK(shape_of(gpt2, "blk.0.attn_qkv.weight") == (Shape{2304, 768}));
  BOOST_CHECK(shape_of(gpt2, "blk.11.ffn_down.weight") == (Shape{768, 3072}));  // n_inner null: 4 * n_embd
  BOOST_CHECK(shape_of(gpt2, "output.weight") == (Shape{50257, 768}));
  BOOST_CHECK(!shape_of(gpt2, "blk.0.attn_norm.weight"));  // not a matrix the table knows
  BOOST_CHECK(lora::ties_output_to_embeddings(gpt2));
  auto past = lora::base_matrix_shape(gpt2, "blk.12.attn_qkv.weight");
  BOOST_REQUIRE(!past.ok());
  BOOST_CHECK_EQUAL(past.status().message(), "the base model has 12 layers (config.json), no layer 12");

  // head_dim need not be hidden / heads (Qwen3): Q is heads * head_dim rows, K and V kv_heads * head_dim.
  const auto qwen3 = base_of(
      "qwen3", {{"hidden_size", 1024}, {"head_dim", 128}, {"intermediate_size", 3072}, {"num_hidden_layers", 28}}, 16,
      8);
  BOOST_CHECK(shape_of(qwen3, "blk.27.attn_q.weight") == (Shape{2048, 1024}));
  BOOST_CHECK(shape_of(qwen3, "blk.0.attn_k.weight") == (Shape{1024, 1024}));
  BOOST_CHECK(shape_of(qwen3, "blk.0.attn_output.weight") == (Shape{1024, 2048}));
  BOOST_CHECK(shape_of(qwen3, "blk.0.ffn_gate.weight") == (Shape{3072, 1024}));
  BOOST_CHECK(!shape_of(qwen3, "token_embd.weight"));  // no vocab_size: nothing to check against
  BOOST_CHECK(!lora::ties_output_to_embeddings(qwen3));
}

BOOST_AUTO_TEST_CASE(the_alpha_written_gives_peft_scale_over_llama_cpps_rank) {
  lora::AdapterConfig config;
  config.rank = 16;
  config.alpha = 32;
  BOOST_CHECK_EQUAL(lora::gguf_alpha(config), 32.0f);  // 32 / 16, PEFT's alpha / r
  config.rslora = true;
  BOOST_CHECK_EQUAL(lora::gguf_alpha(config), 128.0f);  // 128 / 16 = 32 / sqrt(16), rsLoRA's scale
}
