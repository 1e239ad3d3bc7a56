// Hugging Face checkpoints built from the documents (tests/support/hf_checkpoints.hpp): qwen2
// with a fast tokenizer.json (hf-to-gguf.md §4.2-4.3), qwen3 with per-head norms and tied
// embeddings, llama3 rope scaling (§3.3), the converter's storage types (§3.4), and the
// one-line refusals: unknown classes, unreadable tokenizers, tensors without a GGUF name.
#include "support/hf_checkpoints.hpp"

using nlohmann::json;
using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;

namespace {

const fs::path kLlamaSimple = qf_test::shared_dir() / "tools" / "llama.cpp" / "llama-simple";

void run_ok(const std::string& args) {
  auto r = cli(args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, args << ": " << r.err);
}

void check_generates(const fs::path& model) {
  if (!qf_test::shared_part_available("llama-simple")) return;
  auto r = qf_test::run(quote(kLlamaSimple) + " -m " + quote(model) + " -n 4 'the hello'");
  BOOST_CHECK_MESSAGE(r.exit_code == 0, model << ": " << r.err.substr(r.err.size() > 1500 ? r.err.size() - 1500 : 0));
  BOOST_CHECK_GT(r.out.size(), std::string("the hello").size());
}

std::vector<std::string> keys_of(const quantflow::Metadata& m) {
  std::vector<std::string> out;
  for (const auto& e : m.entries()) out.push_back(e.key);
  return out;
}

const quantflow::MetaValue& value_of(const quantflow::Metadata& m, const std::string& key) {
  const auto* v = m.find(key);
  BOOST_REQUIRE_MESSAGE(v != nullptr, "no metadata key " << key);
  return *v;
}

std::vector<float> f32_values(const qf_test::StoredTensor& t) {
  BOOST_REQUIRE_EQUAL(t.type, "f32");
  std::vector<float> out(t.bytes.size() / 4);
  std::memcpy(out.data(), t.bytes.data(), t.bytes.size());
  return out;
}

std::vector<float> f16_values(const qf_test::StoredTensor& t) {
  std::vector<float> out;
  for (size_t i = 0; i < t.bytes.size(); i += 2)
    out.push_back(qf_folder::f16_value(static_cast<uint16_t>(t.bytes[i] | t.bytes[i + 1] << 8)));
  return out;
}

// Qwen's layout: <|endoftext|> (296), <|im_start|> (297), <|im_end|> (298) special; "▁hi"
// (299) an ordinary added token; ids 260..295 unused.
void write_qwen_tokenizer(const fs::path& dir) {
  const std::vector<qf_hf::AddedToken> added = {{296, "<|endoftext|>", true},
                                                {297, "<|im_start|>", true},
                                                {298, "<|im_end|>", true},
                                                {299, "\xe2\x96\x81hi", false}};
  qf_test::write_text(dir / "tokenizer.json", qf_hf::byte_level_tokenizer_json(added, "<|endoftext|>").dump());
  qf_test::write_text(dir / "tokenizer_config.json",
                      json{{"add_bos_token", false},
                           {"bos_token", nullptr},
                           {"eos_token", "<|im_end|>"},
                           {"pad_token", "<|endoftext|>"},
                           {"chat_template", "{% for m in messages %}{{ m }}{% endfor %}"}}
                          .dump());
}

fs::path qwen_checkpoint(const fs::path& dir, const qf_hf::Family& family, const qf_hf::Dims& dims,
                         const std::string& dtype, json extra_config = json::object()) {
  qf_hf::write_checkpoint(dir, family, dims, dtype, dtype);
  json config = qf_hf::decoder_config(family, dims);
  config["bos_token_id"] = 296;
  config["eos_token_id"] = 298;
  config.update(extra_config);
  qf_test::write_text(dir / "config.json", config.dump());
  write_qwen_tokenizer(dir);
  return dir;
}

}  // namespace

BOOST_AUTO_TEST_CASE(qwen2_with_a_fast_tokenizer) {
  qf_test::TempDir tmp;
  const qf_hf::Family qwen2{.hf_class = "Qwen2ForCausalLM", .qkv_bias = true};
  const fs::path dir = qwen_checkpoint(tmp / "qwen2-tok", qwen2, {}, "F16");
  const fs::path out = tmp / "qwen2.gguf";
  run_ok("convert -q " + quote(dir) + " " + quote(out) + " --type f16");
  const auto m = qf_test::metadata_of(out);
  BOOST_CHECK(keys_of(m) == (std::vector<std::string>{"general.architecture",
                                                      "general.type",
                                                      "general.name",
                                                      "general.size_label",
                                                      "qwen2.block_count",
                                                      "qwen2.context_length",
                                                      "qwen2.embedding_length",
                                                      "qwen2.feed_forward_length",
                                                      "qwen2.attention.head_count",
                                                      "qwen2.attention.head_count_kv",
                                                      "qwen2.rope.freq_base",
                                                      "qwen2.attention.layer_norm_rms_epsilon",
                                                      "general.file_type",
                                                      "general.quantization_version",
                                                      "tokenizer.ggml.model",
                                                      "tokenizer.ggml.pre",
                                                      "tokenizer.ggml.tokens",
                                                      "tokenizer.ggml.token_type",
                                                      "tokenizer.ggml.merges",
                                                      "tokenizer.ggml.eos_token_id",
                                                      "tokenizer.ggml.pad_token_id",
                                                      "tokenizer.ggml.bos_token_id",
                                                      "tokenizer.ggml.add_bos_token",
                                                      "tokenizer.chat_template"}));
  BOOST_CHECK_EQUAL(value_of(m, "general.name").text, "Qwen2 Tok");
  BOOST_CHECK_EQUAL(value_of(m, "qwen2.rope.freq_base").real, 1000000.0);
  BOOST_CHECK_EQUAL(value_of(m, "tokenizer.ggml.pre").text, "qwen2");
  const auto& tokens = value_of(m, "tokenizer.ggml.tokens").elements;
  const auto& types = value_of(m, "tokenizer.ggml.token_type").elements;
  BOOST_REQUIRE_EQUAL(tokens.size(), 300u);
  BOOST_REQUIRE_EQUAL(types.size(), 300u);
  const std::pair<size_t, std::pair<std::string, int64_t>> expected[] = {
      {0, {"\xc4\x80", 1}},     {33, {"!", 1}},         {32, {"\xc4\xa0", 1}},  {256, {"\xc4\xa0t", 1}},
      {259, {"a b", 1}},        {260, {"[PAD260]", 5}}, {295, {"[PAD295]", 5}}, {296, {"<|endoftext|>", 3}},
      {298, {"<|im_end|>", 3}}, {299, {" hi", 4}}};
  for (const auto& [id, token] : expected) {
    BOOST_CHECK_EQUAL(tokens[id].text, token.first);
    BOOST_CHECK_EQUAL(types[id].as_i64(), token.second);
  }
  std::vector<std::string> merges;
  for (const auto& e : value_of(m, "tokenizer.ggml.merges").elements) merges.push_back(e.text);
  BOOST_CHECK(merges == (std::vector<std::string>{"\xc4\xa0 t", "h e", "\xc4\xa0t he",
                                                  "a \xc4\xa0"
                                                  "b"}));
  BOOST_CHECK_EQUAL(value_of(m, "tokenizer.ggml.eos_token_id").integer, 298u);  // tokenizer_config via added_tokens
  BOOST_CHECK_EQUAL(value_of(m, "tokenizer.ggml.pad_token_id").integer, 296u);
  BOOST_CHECK_EQUAL(value_of(m, "tokenizer.ggml.bos_token_id").integer, 296u);  // config.json
  BOOST_CHECK_EQUAL(value_of(m, "tokenizer.ggml.add_bos_token").integer, 0u);   // tokenizer_config beats the template
  BOOST_CHECK_EQUAL(value_of(m, "tokenizer.chat_template").text, "{% for m in messages %}{{ m }}{% endfor %}");

  // No rotary reorder for qwen2; biases are stored as F32 with the checkpoint's values.
  const auto source = qf_test::tensors_of(dir);
  const auto written = qf_test::tensors_of(out);
  BOOST_CHECK(written.at("blk.1.attn_q.weight") == source.at("model.layers.1.self_attn.q_proj.weight"));
  BOOST_CHECK(written.at("blk.1.attn_k.weight") == source.at("model.layers.1.self_attn.k_proj.weight"));
  const auto bias = f32_values(written.at("blk.0.attn_k.bias"));
  BOOST_CHECK(bias == f16_values(source.at("model.layers.0.self_attn.k_proj.bias")));
  BOOST_CHECK_EQUAL(written.at("output_norm.weight").type, "f32");
  check_generates(out);
}

BOOST_AUTO_TEST_CASE(qwen3_with_head_norms_tied_embeddings_and_bf16) {
  qf_test::TempDir tmp;
  const qf_hf::Family qwen3{.hf_class = "Qwen3ForCausalLM", .qk_norm = true, .lm_head = false};
  const qf_hf::Dims dims{.head_dim = 32};
  const fs::path dir = qwen_checkpoint(tmp / "qwen3", qwen3, dims, "BF16");
  const fs::path out = tmp / "qwen3.gguf";
  run_ok("convert -q " + quote(dir) + " " + quote(out));  // no --type: matrices stay BF16
  const auto m = qf_test::metadata_of(out);
  BOOST_CHECK_EQUAL(value_of(m, "general.architecture").text, "qwen3");
  BOOST_CHECK_EQUAL(value_of(m, "general.file_type").integer, 32u);
  BOOST_CHECK_EQUAL(value_of(m, "qwen3.attention.key_length").integer, 32u);
  BOOST_CHECK_EQUAL(value_of(m, "qwen3.attention.value_length").integer, 32u);
  BOOST_CHECK(m.find("qwen3.rope.dimension_count") == nullptr);  // llama only
  BOOST_CHECK(m.find("qwen3.vocab_size") == nullptr);
  const auto written = qf_test::tensors_of(out);
  BOOST_CHECK(written.count("output.weight") == 0);
  BOOST_CHECK_EQUAL(written.at("blk.0.attn_q.weight").type, "bf16");
  const auto source = qf_test::tensors_of(dir);
  const auto& q_norm = source.at("model.layers.0.self_attn.q_norm.weight");
  std::vector<float> widened;
  for (size_t i = 0; i < q_norm.bytes.size(); i += 2)
    widened.push_back(qf_folder::bf16_value(static_cast<uint16_t>(q_norm.bytes[i] | q_norm.bytes[i + 1] << 8)));
  BOOST_CHECK(f32_values(written.at("blk.0.attn_q_norm.weight")) == widened);
  check_generates(out);

  // Quantized in one pass, the tied token_embd takes output's type (Q6_K).
  run_ok("quantize -q " + quote(dir) + " " + quote(tmp / "q.gguf") + " Q4_K_M");
  const auto quantized = qf_test::tensors_of(tmp / "q.gguf");
  BOOST_CHECK_EQUAL(quantized.at("token_embd.weight").type, "q6_k");
  BOOST_CHECK_EQUAL(quantized.at("blk.0.attn_k_norm.weight").type, "f32");
  check_generates(tmp / "q.gguf");
}

// llama3 rope scaling writes no keys but a rope_freqs.weight tensor first (§3.3); linear and
// yarn scaling write their keys.
BOOST_AUTO_TEST_CASE(rope_scaling) {
  qf_test::TempDir tmp;
  const qf_hf::Family llama{.hf_class = "LlamaForCausalLM"};
  const fs::path dir = qf_hf::write_checkpoint(tmp / "llama3", llama, {}, "F16", "F32");
  qf_hf::write_sentencepiece_tokenizer(dir, 300);
  json config = qf_hf::decoder_config(llama, {});
  config["rope_theta"] = 500000.0;
  config["rope_scaling"] = {{"rope_type", "llama3"},
                            {"factor", 8.0},
                            {"low_freq_factor", 1.0},
                            {"high_freq_factor", 4.0},
                            {"original_max_position_embeddings", 8192}};
  qf_test::write_text(dir / "config.json", config.dump());
  run_ok("convert -q " + quote(dir) + " " + quote(tmp / "llama3.gguf") + " --type f16");
  auto reader = qf_test::plugins().open_reader((tmp / "llama3.gguf").string());
  BOOST_REQUIRE(reader.ok());
  BOOST_CHECK_EQUAL((*reader)->tensors().front().name, "rope_freqs.weight");
  const auto factors = f32_values(qf_test::tensors_of(tmp / "llama3.gguf").at("rope_freqs.weight"));
  BOOST_REQUIRE_EQUAL(factors.size(), 32u);  // head dim 64
  for (size_t k = 0; k < factors.size(); ++k) {
    const double wavelen = 2 * M_PI * std::pow(500000.0, 2.0 * k / 64);
    const double smooth = (8192 / wavelen - 1) / 3;
    const double expected = wavelen < 8192 / 4.0 ? 1 : wavelen > 8192 ? 8 : 1 / ((1 - smooth) / 8 + smooth);
    BOOST_CHECK_CLOSE(factors[k], expected, 1e-4);
  }
  BOOST_CHECK_EQUAL(factors.front(), 1.0f);
  BOOST_CHECK_EQUAL(factors.back(), 8.0f);
  BOOST_CHECK(qf_test::metadata_of(tmp / "llama3.gguf").find("llama.rope.scaling.type") == nullptr);
  check_generates(tmp / "llama3.gguf");

  config["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  qf_test::write_text(dir / "config.json", config.dump());
  run_ok("convert -q " + quote(dir) + " " + quote(tmp / "linear.gguf"));
  const auto linear = qf_test::metadata_of(tmp / "linear.gguf");
  BOOST_CHECK_EQUAL(value_of(linear, "llama.rope.scaling.type").text, "linear");
  BOOST_CHECK_EQUAL(value_of(linear, "llama.rope.scaling.factor").real, 2.0);
  BOOST_CHECK_EQUAL(qf_test::tensors_of(tmp / "linear.gguf").count("rope_freqs.weight"), 0u);

  const qf_hf::Family qwen2{.hf_class = "Qwen2ForCausalLM"};
  const fs::path yarn = qwen_checkpoint(
      tmp / "yarn", qwen2, {}, "F16",
      {{"rope_scaling", {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768}}}});
  run_ok("convert -q " + quote(yarn) + " " + quote(tmp / "yarn.gguf"));
  const auto y = qf_test::metadata_of(tmp / "yarn.gguf");
  BOOST_CHECK_EQUAL(value_of(y, "qwen2.rope.scaling.type").text, "yarn");
  BOOST_CHECK_EQUAL(value_of(y, "qwen2.rope.scaling.factor").real, 4.0);
  BOOST_CHECK_EQUAL(value_of(y, "qwen2.rope.scaling.original_context_length").integer, 32768u);
}

// §3.4: under --type q8_0 a matrix whose rows are not whole blocks is written as F16, as the
// converter writes it, and norms stay F32.
BOOST_AUTO_TEST_CASE(plain_outputs_follow_the_converters_storage_types,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qf_test::TempDir tmp;
  run_ok("convert -q " + quote(qf_test::shared_testdata() / "hf" / "llama-2-tiny-random") + " " +
         quote(tmp / "q8.gguf") + " --type q8_0");
  const auto t = qf_test::tensors_of(tmp / "q8.gguf");
  BOOST_CHECK_EQUAL(t.at("blk.0.ffn_down.weight").type, "q8_0");  // rows of 32
  BOOST_CHECK_EQUAL(t.at("blk.0.ffn_up.weight").type, "f16");     // rows of 8
  BOOST_CHECK_EQUAL(t.at("token_embd.weight").type, "f16");
  BOOST_CHECK_EQUAL(t.at("output_norm.weight").type, "f32");
  BOOST_CHECK_EQUAL(value_of(qf_test::metadata_of(tmp / "q8.gguf"), "general.file_type").integer, 7u);
}

BOOST_AUTO_TEST_CASE(refusals_are_one_line_naming_file_and_reason) {
  qf_test::TempDir tmp;
  const qf_hf::Family llama{.hf_class = "LlamaForCausalLM"};
  const qf_hf::Dims small{.layers = 1, .hidden = 64, .ffn = 64, .heads = 2, .kv_heads = 2, .vocab = 300};
  auto refused = [&](const fs::path& dir, const std::string& message) {
    auto r = cli("convert " + quote(dir) + " " + quote(tmp / "out.gguf"));
    BOOST_CHECK_EQUAL(r.exit_code, 2);
    BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + message + "\n");
    BOOST_CHECK(!fs::exists(tmp / "out.gguf"));
  };
  for (const char* unknown : {"PhiForCausalLM"}) {
    const fs::path dir = qf_hf::write_checkpoint(tmp / unknown, llama, small, "F16", "F32");
    qf_test::write_text(dir / "config.json", json{{"architectures", {unknown}}, {"num_attention_heads", 2}}.dump());
    refused(dir,
            (dir / "config.json").string() + ": architectures is '" + unknown +
                "', which quantflow does not convert to GGUF (it converts LlamaForCausalLM, LlamaModel, "
                "MistralForCausalLM, MixtralForCausalLM, Qwen2ForCausalLM, Qwen2Model, Qwen3ForCausalLM, Qwen3Model, "
                "GPT2LMHeadModel, GPT2Model)");
    auto q = cli("quantize " + quote(dir) + " " + quote(tmp / "out.gguf") + " Q4_K_M");
    BOOST_CHECK_EQUAL(q.exit_code, 2);
    BOOST_CHECK_NE(q.err.find("architectures is '" + std::string(unknown) + "'"), std::string::npos);
    // Other containers take the folder as it is.
    BOOST_CHECK_EQUAL(cli("convert -q " + quote(dir) + " " + quote(tmp / "copy.safetensors")).exit_code, 0);
  }

  const fs::path no_tokenizer = qf_hf::write_checkpoint(tmp / "bare", llama, small, "F16", "F32");
  refused(no_tokenizer, no_tokenizer.string() +
                            ": no tokenizer (tokenizer.model, tokenizer.json, or vocab.json with merges.txt): a GGUF "
                            "without one does not load");

  const fs::path broken = qf_hf::write_checkpoint(tmp / "broken", llama, small, "F16", "F32");
  qf_folder::write_file(broken / "tokenizer.model", {0x0a, 0x05, 0x0a});  // a 5-byte piece holding 1 byte
  refused(broken, (broken / "tokenizer.model").string() + ": truncated piece at byte 2");

  const fs::path extra = qf_hf::write_checkpoint(tmp / "extra", llama, small, "F16", "F32");
  qf_hf::write_sentencepiece_tokenizer(extra, 300);
  std::mt19937 rng(3);
  auto parts = qf_hf::decoder_tensors(llama, small, "F16", "F32", rng);
  qf_hf::add(parts, "model.layers.0.mlp.extra_proj.weight", {64, 64}, "F16", rng);
  qf_folder::write_folder(extra, qf_hf::decoder_config(llama, small), parts);
  refused(extra, extra.string() +
                     ": tensor 'model.layers.0.mlp.extra_proj.weight': no GGUF name for this tensor in llama.cpp's "
                     "llama layout");

  // A llama BPE tokenizer of no known family: tokenizer.ggml.pre cannot be told.
  const fs::path bpe = qf_hf::write_checkpoint(tmp / "bpe", llama, small, "F16", "F32");
  write_qwen_tokenizer(bpe);
  refused(bpe, (bpe / "tokenizer.json").string() +
                   ": cannot tell which pre-tokenizer (tokenizer.ggml.pre) this LlamaForCausalLM BPE tokenizer of 300 "
                   "tokens uses; quantflow knows those of GPT-2, Qwen2/Qwen3, Llama 3 (128256), SmolLM (49152) and "
                   "Mistral's tekken (131072)");
}

// `rename: {builtin: none}` turns the folder's own conversion off: the HF names reach the
// GGUF writer, which refuses them.
BOOST_AUTO_TEST_CASE(a_recipe_can_opt_out) {
  qf_test::TempDir tmp;
  const qf_hf::Family qwen2{.hf_class = "Qwen2ForCausalLM"};
  const fs::path dir = qwen_checkpoint(tmp / "q", qwen2, {.layers = 1}, "F16");
  const std::string recipe = quote(qf_test::repo_dir() / "configs" / "examples" / "hf-to-q4_k_m.yaml") +
                             " --set inputs=" + quote(dir) + " --set output.path=" + quote(tmp / "o.gguf");
  run_ok("run -q " + recipe);
  BOOST_CHECK_EQUAL(qf_test::tensors_of(tmp / "o.gguf").at("blk.0.ffn_up.weight").type, "q4_k");
  auto heads = cli("run -q " + recipe + " --set rename.heads=8");
  BOOST_CHECK_EQUAL(heads.exit_code, 0);
  BOOST_CHECK_NE(heads.err.find(": ignored: the checkpoint's config.json decides the architecture and heads"),
                 std::string::npos);
  auto r = cli("run " + recipe + " --set rename.builtin=none");
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_NE(r.err.find("tensor 'lm_head.weight': Hugging Face tensor names and no general.architecture"),
                 std::string::npos);
}
