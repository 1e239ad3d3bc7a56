// A MixtralForCausalLM checkpoint built from the documents (hf-to-gguf.md §1.1, §3.2, §3.4):
// the router becomes an F32 ffn_gate_inp, each layer's w1/w2/w3 experts are stacked into one
// 3-D tensor, expert 0 first; the file loads and generates in llama.cpp, quantizes as
// llama-quantize does with the MoE rules, and a checkpoint with a missing or mis-shaped expert
// is refused naming the tensor.
#include "support/hf_checkpoints.hpp"

using nlohmann::json;
using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;

namespace {

const fs::path kLlamaTools = qf_test::shared_dir() / "tools" / "llama.cpp";
const fs::path kTinyLlama = qf_test::shared_testdata() / "hf" / "llama-2-tiny-random";
const qf_hf::Dims kDims{.layers = 2, .hidden = 256, .ffn = 512, .heads = 4, .kv_heads = 2, .vocab = 300};
const qf_hf::Experts kExperts{.count = 4, .used = 2};
const qf_hf::Dims kSmall{.layers = 1, .hidden = 64, .ffn = 128, .heads = 2, .kv_heads = 2, .vocab = 300};

void run_ok(const std::string& args) {
  auto r = cli(args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, args << ": " << r.err);
}

const quantflow::MetaValue& value_of(const quantflow::Metadata& m, const std::string& key) {
  const auto* v = m.find(key);
  BOOST_REQUIRE_MESSAGE(v != nullptr, "no metadata key " << key);
  return *v;
}

// A Mixtral checkpoint with llama-2-tiny-random's SentencePiece tokenizer when the shared
// data is there, else a generated one.
fs::path mixtral_checkpoint(const fs::path& dir, qf_hf::Dims dims = kDims) {
  const bool shared_tokenizer = fs::exists(kTinyLlama / "tokenizer.model");
  if (shared_tokenizer) dims.vocab = 32000;
  std::mt19937 rng(11);
  qf_folder::write_folder(dir, qf_hf::mixtral_config(dims, kExperts),
                          qf_hf::mixtral_tensors(dims, kExperts, "F16", "F32", rng));
  if (shared_tokenizer) {
    for (const char* file : {"tokenizer.model", "tokenizer_config.json"})
      fs::copy_file(kTinyLlama / file, dir / file, fs::copy_options::overwrite_existing);
  } else {
    qf_hf::write_sentencepiece_tokenizer(dir, dims.vocab);
  }
  return dir;
}

std::vector<uint8_t> concatenated(const std::map<std::string, qf_test::StoredTensor>& source, uint64_t layer,
                                  const std::string& matrix) {
  std::vector<uint8_t> out;
  for (uint64_t e = 0; e < kExperts.count; ++e) {
    const auto& expert = source.at("model.layers." + std::to_string(layer) + ".block_sparse_moe.experts." +
                                   std::to_string(e) + "." + matrix + ".weight");
    out.insert(out.end(), expert.bytes.begin(), expert.bytes.end());
  }
  return out;
}

void check_generates(const fs::path& model) {
  if (!qf_test::shared_part_available("llama-simple")) return;
  auto r = qf_test::run(quote(kLlamaTools / "llama-simple") + " -m " + quote(model) + " -n 4 'the hello'");
  BOOST_CHECK_MESSAGE(r.exit_code == 0, model << ": " << r.err.substr(r.err.size() > 1500 ? r.err.size() - 1500 : 0));
  BOOST_CHECK_GT(r.out.size(), std::string("the hello").size());
}

}  // namespace

BOOST_AUTO_TEST_CASE(experts_are_stacked_into_one_tensor_per_layer_and_matrix) {
  qf_test::TempDir tmp;
  const fs::path dir = mixtral_checkpoint(tmp / "mixtral-tiny");
  const fs::path out = tmp / "mixtral-f16.gguf";
  run_ok("convert -q " + quote(dir) + " " + quote(out) + " --type f16");

  const auto m = qf_test::metadata_of(out);
  BOOST_CHECK_EQUAL(value_of(m, "general.architecture").text, "llama");
  BOOST_CHECK_EQUAL(value_of(m, "llama.expert_count").integer, 4u);
  BOOST_CHECK_EQUAL(value_of(m, "llama.expert_used_count").integer, 2u);
  BOOST_CHECK_EQUAL(value_of(m, "llama.feed_forward_length").integer, 512u);
  BOOST_CHECK_EQUAL(value_of(m, "general.file_type").integer, 1u);
  const uint64_t vocab = value_of(m, "llama.vocab_size").integer;
  // One token path (embeddings, output, attention, norms, router, one expert per stack): 1.3M
  // parameters with 300 tokens, 18M with 32000.
  BOOST_CHECK_EQUAL(value_of(m, "general.size_label").text, vocab == 300 ? "4x1.3M" : "4x18M");

  auto reader = qf_test::plugins().open_reader(out.string());
  BOOST_REQUIRE(reader.ok());
  std::map<std::string, quantflow::TensorInfo> infos;
  for (const auto& t : (*reader)->tensors()) infos[t.name] = t;
  BOOST_CHECK_EQUAL(infos.size(), 3u + 2 * 10);  // no per-expert tensor is left over
  for (uint64_t layer = 0; layer < 2; ++layer) {
    const std::string blk = "blk." + std::to_string(layer) + ".";
    BOOST_CHECK(infos.at(blk + "ffn_gate_exps.weight").shape == (quantflow::Shape{4, 512, 256}));
    BOOST_CHECK(infos.at(blk + "ffn_up_exps.weight").shape == (quantflow::Shape{4, 512, 256}));
    BOOST_CHECK(infos.at(blk + "ffn_down_exps.weight").shape == (quantflow::Shape{4, 256, 512}));
    BOOST_CHECK(infos.at(blk + "ffn_gate_inp.weight").shape == (quantflow::Shape{4, 256}));
  }

  const auto source = qf_test::tensors_of(dir);
  const auto written = qf_test::tensors_of(out);
  for (uint64_t layer = 0; layer < 2; ++layer) {
    const std::string blk = "blk." + std::to_string(layer) + ".";
    for (const auto& [gguf, hf] : {std::pair{"ffn_gate_exps", "w1"}, {"ffn_down_exps", "w2"}, {"ffn_up_exps", "w3"}}) {
      const auto& stacked = written.at(blk + gguf + ".weight");
      BOOST_CHECK_EQUAL(stacked.type, "f16");
      BOOST_CHECK(stacked.bytes == concatenated(source, layer, hf));
    }
    // The router is stored in F32 whatever --type asks (§3.4), with the checkpoint's values.
    const auto& router = written.at(blk + "ffn_gate_inp.weight");
    BOOST_CHECK_EQUAL(router.type, "f32");
    const auto& stored = source.at("model.layers." + std::to_string(layer) + ".block_sparse_moe.gate.weight");
    BOOST_REQUIRE_EQUAL(router.bytes.size(), 2 * stored.bytes.size());
    for (size_t i = 0; i < stored.bytes.size(); i += 2) {
      float value = 0;
      std::memcpy(&value, router.bytes.data() + 2 * i, sizeof value);
      BOOST_CHECK_EQUAL(value, qf_folder::f16_value(static_cast<uint16_t>(stored.bytes[i] | stored.bytes[i + 1] << 8)));
    }
  }
  check_generates(out);

  // Q4_K_M from the folder in one pass: the MoE rules (n_expert 4) decide, as llama-quantize
  // decides on the F16 conversion.
  run_ok("quantize -q " + quote(dir) + " " + quote(tmp / "one-pass.gguf") + " Q4_K_M");
  const auto quantized = qf_test::tensors_of(tmp / "one-pass.gguf");
  BOOST_CHECK_EQUAL(quantized.at("blk.0.ffn_gate_inp.weight").type, "f32");
  BOOST_CHECK_EQUAL(quantized.at("blk.0.ffn_gate_exps.weight").type, "q4_k");
  BOOST_CHECK_EQUAL(quantized.at("blk.0.ffn_down_exps.weight").type, "q4_k");  // use_more_bits(0, 2) is false
  BOOST_CHECK_EQUAL(quantized.at("output.weight").type, "q6_k");
  const auto one_pass = qf_test::read_bytes(tmp / "one-pass.gguf");
  if (qf_test::shared_part_available("llama-quantize")) {
    auto r = qf_test::run(quote(kLlamaTools / "llama-quantize") + " " + quote(out) + " " +
                          quote(tmp / "llama-quantize.gguf") + " Q4_K_M 1");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_CHECK(one_pass == qf_test::read_bytes(tmp / "llama-quantize.gguf"));
  }
  check_generates(tmp / "one-pass.gguf");
}

BOOST_AUTO_TEST_CASE(missing_or_mis_shaped_experts_are_refused_naming_the_tensor) {
  qf_test::TempDir tmp;
  auto refused = [&](const std::string& name, std::vector<qf_folder::Part> parts, const std::string& message,
                     json config = qf_hf::mixtral_config(kSmall, kExperts)) {
    const fs::path dir = tmp / name;
    qf_folder::write_folder(dir, config, parts);
    qf_hf::write_sentencepiece_tokenizer(dir, kSmall.vocab);
    auto r = cli("convert " + quote(dir) + " " + quote(tmp / "out.gguf"));
    BOOST_CHECK_EQUAL(r.exit_code, 2);
    BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + dir.string() + ": " + message + "\n");
    BOOST_CHECK(!fs::exists(tmp / "out.gguf"));
  };
  auto without = [&](const std::string& dropped) {
    std::mt19937 rng(5);
    auto parts = qf_hf::mixtral_tensors(kSmall, kExperts, "F16", "F32", rng);
    std::vector<qf_folder::Part> kept;
    for (auto& p : parts)
      if (p.name != dropped) kept.push_back(std::move(p));
    return kept;
  };
  refused("missing", without("model.layers.0.block_sparse_moe.experts.2.w3.weight"),
          "tensor 'model.layers.0.block_sparse_moe.experts.2.w3.weight': missing: 'blk.0.ffn_up_exps.weight' stacks "
          "4 experts (num_local_experts)");

  std::mt19937 rng(5);
  auto wrong = without("model.layers.0.block_sparse_moe.experts.1.w2.weight");
  qf_hf::add(wrong, "model.layers.0.block_sparse_moe.experts.1.w2.weight", {64, 64}, "F16", rng);
  refused("mis-shaped", wrong,
          "tensor 'model.layers.0.block_sparse_moe.experts.1.w2.weight': f16 [64, 64] differs from expert 0's f16 "
          "[64, 128]: the experts of 'blk.0.ffn_down_exps.weight' must match");

  auto extra = without("");
  qf_hf::add(extra, "model.layers.0.block_sparse_moe.experts.4.w1.weight", {128, 64}, "F16", rng);
  refused("extra", extra,
          "tensor 'model.layers.0.block_sparse_moe.experts.4.w1.weight': expert 4 of 'blk.0.ffn_gate_exps.weight', "
          "but num_local_experts is 4");

  json no_count = qf_hf::mixtral_config(kSmall, kExperts);
  no_count.erase("num_local_experts");
  refused("no-count", without(""),
          "tensor 'model.layers.0.block_sparse_moe.experts.0.w1.weight': config.json has no num_local_experts: the "
          "experts of 'blk.0.ffn_gate_exps.weight' cannot be stacked",
          no_count);
}
