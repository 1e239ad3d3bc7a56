// Hugging Face checkpoint folders to GGUF (docs/hf.md): the llama test checkpoint converts to
// llama.cpp's own conversion key by key and tensor by tensor, and generates the same text in
// llama-simple; the real GPT-2 checkpoint takes the BPE path; one-pass quantization equals
// converting to F16 and quantizing, with quantflow and with llama-quantize.
#include "support/hf_checkpoints.hpp"

using nlohmann::json;
using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;

namespace {

const fs::path kLlamaTools = qf_test::shared_dir() / "tools" / "llama.cpp";

fs::path hf_testdata(const char* name) { return qf_test::shared_testdata() / "hf" / name; }

void run_ok(const std::string& args) {
  auto r = cli(args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, args << ": " << r.err);
}

// What llama-simple prints for a few greedy tokens (its logs go to stderr).
std::string generate(const fs::path& model, const std::string& prompt) {
  auto r = qf_test::run(quote(kLlamaTools / "llama-simple") + " -m " + quote(model) + " -n 8 " + quote(prompt));
  BOOST_CHECK_MESSAGE(r.exit_code == 0,
                      "llama-simple " << model << ": " << r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0));
  return r.out;
}

struct TensorEntry {
  std::string name, type;
  std::vector<uint64_t> shape;
  bool operator==(const TensorEntry&) const = default;
};

std::vector<TensorEntry> tensor_table(const fs::path& path) {
  auto reader = qf_test::plugins().open_reader(path.string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  std::vector<TensorEntry> out;
  for (const auto& t : (*reader)->tensors()) out.push_back({t.name, t.dtype.name, t.shape});
  return out;
}

std::vector<float> floats_of(const qf_test::StoredTensor& t) {
  BOOST_REQUIRE_EQUAL(t.type, "f32");
  std::vector<float> out(t.bytes.size() / 4);
  std::memcpy(out.data(), t.bytes.data(), t.bytes.size());
  return out;
}

const quantflow::MetaValue& value_of(const quantflow::Metadata& m, const std::string& key) {
  const auto* v = m.find(key);
  BOOST_REQUIRE_MESSAGE(v != nullptr, "no metadata key " << key);
  return *v;
}

std::vector<std::string> strings_of(const quantflow::MetaValue& v) {
  std::vector<std::string> out;
  for (const auto& e : v.elements) out.push_back(e.text);
  return out;
}

}  // namespace

// Every key of llama.cpp's conversion in its order, type and value, and every tensor in its
// order, type, shape and bytes. The one difference is general.name: the converter names the
// model after the folder it read, and the reference was converted from a folder named hf-tiny.
BOOST_AUTO_TEST_CASE(the_llama_checkpoint_converts_as_llama_cpp_converts_it,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qf_test::TempDir tmp;
  const fs::path ours = tmp / "ours.gguf";
  const fs::path reference = qf_test::shared_testdata() / "reference" / "llama-2-tiny-random-from-hf-F16.gguf";
  run_ok("convert -q " + quote(hf_testdata("llama-2-tiny-random")) + " " + quote(ours) + " --type f16");

  const auto ours_meta = qf_test::metadata_of(ours).entries();
  const auto reference_meta = qf_test::metadata_of(reference).entries();
  BOOST_REQUIRE_EQUAL(ours_meta.size(), reference_meta.size());
  for (size_t i = 0; i < ours_meta.size(); ++i) {
    BOOST_TEST_CONTEXT("metadata entry " << i << " (" << reference_meta[i].key << ")") {
      BOOST_CHECK_EQUAL(ours_meta[i].key, reference_meta[i].key);
      if (reference_meta[i].key == "general.name") {
        BOOST_CHECK_EQUAL(ours_meta[i].value.text, "Llama 2 Tiny Random");
        BOOST_CHECK_EQUAL(reference_meta[i].value.text, "Hf Tiny");
      } else {
        BOOST_CHECK(ours_meta[i].value == reference_meta[i].value);
      }
    }
  }
  BOOST_CHECK(tensor_table(ours) == tensor_table(reference));
  BOOST_CHECK(qf_test::tensors_of(ours) == qf_test::tensors_of(reference));

  // The recipe example reads the folder the same way: the same file, byte for byte.
  const fs::path recipe = tmp / "recipe.gguf";
  run_ok("run -q " + quote(qf_test::repo_dir() / "configs" / "examples" / "hf-to-gguf-f16.yaml") +
         " --set output.path=" + quote(recipe));
  BOOST_CHECK(qf_test::read_bytes(recipe) == qf_test::read_bytes(ours));

  // llama.cpp loads it and generates what it generates from its own conversion.
  const std::string text = generate(ours, "Once upon a time");
  BOOST_CHECK_GT(text.size(), std::string("Once upon a time").size());
  BOOST_CHECK_EQUAL(text, generate(reference, "Once upon a time"));
}

// The real GPT-2 checkpoint's slow tokenizer (vocab.json + merges.txt) takes the BPE path;
// its Conv1D weights are transposed. GPT2Model (no LM head) converts like GPT2LMHeadModel:
// GPT-2's output is tied to wte either way.
BOOST_AUTO_TEST_CASE(the_gpt2_checkpoint_takes_the_bpe_path_and_runs,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qf_test::TempDir tmp;
  const fs::path out = tmp / "gpt2.gguf";
  run_ok("convert -q " + quote(hf_testdata("tiny-gpt2")) + " " + quote(out));
  const auto m = qf_test::metadata_of(out);
  std::vector<std::string> keys;
  for (const auto& e : m.entries()) keys.push_back(e.key);
  BOOST_CHECK(keys == (std::vector<std::string>{"general.architecture",
                                                "general.type",
                                                "general.name",
                                                "general.size_label",
                                                "gpt2.block_count",
                                                "gpt2.context_length",
                                                "gpt2.embedding_length",
                                                "gpt2.feed_forward_length",
                                                "gpt2.attention.head_count",
                                                "gpt2.attention.layer_norm_epsilon",
                                                "general.file_type",
                                                "general.quantization_version",
                                                "tokenizer.ggml.model",
                                                "tokenizer.ggml.pre",
                                                "tokenizer.ggml.tokens",
                                                "tokenizer.ggml.token_type",
                                                "tokenizer.ggml.merges",
                                                "tokenizer.ggml.bos_token_id",
                                                "tokenizer.ggml.eos_token_id",
                                                "tokenizer.ggml.add_bos_token"}));
  BOOST_CHECK_EQUAL(value_of(m, "general.name").text, "Tiny Gpt2");
  BOOST_CHECK_EQUAL(value_of(m, "general.size_label").text, "2.2K");
  BOOST_CHECK_EQUAL(value_of(m, "gpt2.context_length").integer, 1024u);    // n_positions: no n_ctx here
  BOOST_CHECK_EQUAL(value_of(m, "gpt2.feed_forward_length").integer, 8u);  // 4 * n_embd, n_inner is null
  BOOST_CHECK_EQUAL(value_of(m, "general.file_type").integer, 0u);         // F32 weights, kept
  BOOST_CHECK_EQUAL(value_of(m, "tokenizer.ggml.model").text, "gpt2");
  BOOST_CHECK_EQUAL(value_of(m, "tokenizer.ggml.pre").text, "gpt-2");
  const std::vector<std::string> tokens = strings_of(value_of(m, "tokenizer.ggml.tokens"));
  BOOST_REQUIRE_EQUAL(tokens.size(), 21u);
  BOOST_CHECK_EQUAL(tokens[0], "l");
  BOOST_CHECK_EQUAL(tokens[16], "\xc4\xa0lowest");  // byte-level text stays as it is: "Ġlowest"
  BOOST_CHECK_EQUAL(tokens[20], "<|endoftext|>");
  std::vector<int64_t> types;
  for (const auto& e : value_of(m, "tokenizer.ggml.token_type").elements) types.push_back(e.as_i64());
  BOOST_CHECK(types == (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3}));
  BOOST_CHECK(strings_of(value_of(m, "tokenizer.ggml.merges")) ==
              (std::vector<std::string>{"\xc4\xa0 l", "\xc4\xa0l o", "\xc4\xa0lo w", "e r"}));
  BOOST_CHECK_EQUAL(value_of(m, "tokenizer.ggml.bos_token_id").integer, 20u);  // config.json
  BOOST_CHECK_EQUAL(value_of(m, "tokenizer.ggml.add_bos_token").integer, 0u);  // tokenizer_config.json

  const auto source = qf_test::tensors_of(hf_testdata("tiny-gpt2"));
  const auto written = qf_test::tensors_of(out);
  const auto conv1d = floats_of(source.at("h.0.mlp.c_fc.weight"));   // [in 2, out 8]
  const auto linear = floats_of(written.at("blk.0.ffn_up.weight"));  // [out 8, in 2]
  for (size_t o = 0; o < 8; ++o)
    for (size_t i = 0; i < 2; ++i) BOOST_CHECK_EQUAL(linear[o * 2 + i], conv1d[i * 8 + o]);
  BOOST_CHECK(written.at("position_embd.weight") == source.at("wpe.weight"));
  BOOST_CHECK(written.at("blk.0.attn_qkv.bias") == source.at("h.0.attn.c_attn.bias"));
  BOOST_CHECK_EQUAL(written.size(), 16u);

  BOOST_CHECK_GT(generate(out, "lower newer").size(), std::string("lower newer").size());
}

// With an F16 checkpoint, `quantize DIR OUT Q4_K_M` writes the file that converting to F16
// and then quantizing writes, with quantflow's quantize and with llama-quantize; with BF16 it
// quantizes the checkpoint's values themselves, which is what quantizing its F32 or BF16
// conversion gives (BF16 -> F32 is exact; the two-pass route through F16 rounds first).
BOOST_AUTO_TEST_CASE(one_pass_quantization_equals_the_two_pass_route) {
  qf_test::TempDir tmp;
  const qf_hf::Family llama{.hf_class = "LlamaForCausalLM"};
  const qf_hf::Dims dims;
  const fs::path f16 = qf_hf::write_checkpoint(tmp / "llama-f16", llama, dims, "F16", "F32");
  qf_hf::write_sentencepiece_tokenizer(f16, dims.vocab);

  run_ok("quantize -q " + quote(f16) + " " + quote(tmp / "one-pass.gguf") + " Q4_K_M");
  run_ok("convert -q " + quote(f16) + " " + quote(tmp / "f16.gguf") + " --type f16");
  run_ok("quantize -q " + quote(tmp / "f16.gguf") + " " + quote(tmp / "two-pass.gguf") + " Q4_K_M");
  const auto one_pass = qf_test::read_bytes(tmp / "one-pass.gguf");
  BOOST_CHECK(one_pass == qf_test::read_bytes(tmp / "two-pass.gguf"));
  const auto types = qf_test::tensors_of(tmp / "one-pass.gguf");
  BOOST_CHECK_EQUAL(types.at("output.weight").type, "q6_k");
  BOOST_CHECK_EQUAL(types.at("blk.0.attn_q.weight").type, "q4_k");
  BOOST_CHECK_EQUAL(types.at("blk.0.attn_norm.weight").type, "f32");

  if (qf_test::shared_part_available("llama-quantize and llama-simple")) {
    auto r = qf_test::run(quote(kLlamaTools / "llama-quantize") + " " + quote(tmp / "f16.gguf") + " " +
                          quote(tmp / "llama-quantize.gguf") + " Q4_K_M 1");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_CHECK(one_pass == qf_test::read_bytes(tmp / "llama-quantize.gguf"));
    BOOST_CHECK_GT(generate(tmp / "one-pass.gguf", "Hello").size(), 0u);
  }

  const fs::path bf16 = qf_hf::write_checkpoint(tmp / "llama-bf16", llama, dims, "BF16", "BF16");
  qf_hf::write_sentencepiece_tokenizer(bf16, dims.vocab);
  run_ok("quantize -q " + quote(bf16) + " " + quote(tmp / "bf16-one-pass.gguf") + " Q4_K_M");
  run_ok("convert -q " + quote(bf16) + " " + quote(tmp / "f32.gguf") + " --type f32");
  run_ok("quantize -q " + quote(tmp / "f32.gguf") + " " + quote(tmp / "bf16-two-pass.gguf") + " Q4_K_M");
  BOOST_CHECK(qf_test::read_bytes(tmp / "bf16-one-pass.gguf") == qf_test::read_bytes(tmp / "bf16-two-pass.gguf"));
  // ... and what the two-pass route through a BF16 GGUF (--outtype bf16) gives.
  run_ok("convert -q " + quote(bf16) + " " + quote(tmp / "bf16.gguf") + " --type bf16");
  run_ok("quantize -q " + quote(tmp / "bf16.gguf") + " " + quote(tmp / "bf16-via-bf16.gguf") + " Q4_K_M");
  BOOST_CHECK(qf_test::read_bytes(tmp / "bf16-one-pass.gguf") == qf_test::read_bytes(tmp / "bf16-via-bf16.gguf"));
  // BF16 norms are widened to F32, as the converter stores them.
  const auto bf16_types = qf_test::tensors_of(tmp / "bf16-one-pass.gguf");
  BOOST_CHECK_EQUAL(bf16_types.at("blk.1.ffn_norm.weight").type, "f32");
  BOOST_CHECK_EQUAL(bf16_types.at("output_norm.weight").type, "f32");
}
