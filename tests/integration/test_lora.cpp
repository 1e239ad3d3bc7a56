// PEFT LoRA adapters to GGUF LoRAs (docs/hf.md, "LoRA adapters"), with the two real adapters of
// ../shared/testdata/models/: the GPT-2 causal-LM adapter converts key by key and tensor by
// tensor, its Conv1D pairs merge into the GGUF base as PEFT merges them into the Hugging Face
// one, --type gives the converter's storage types, and the sequence-classification adapter is
// refused for its classifier head. llama.cpp's tools here have no LoRA loader (llama-simple
// takes none), so the output is checked structurally against the conditions llama.cpp's
// adapter loader sets: lora_a is [r, in] and lora_b [out, r] of the base's [out, in] matrix.
#include <regex>

#include "support/lora_adapters.hpp"

using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;
using quantflow::MetaValue;

namespace {

fs::path shared_adapter(const char* name) { return qf_test::shared_testdata() / "models" / name; }

// The GGUF tensor each GPT-2 module holds (hf-to-gguf.md §1.4) and its [out, in] shape in GPT-2 small.
struct Gpt2Matrix {
  const char* module;
  const char* gguf;
  uint64_t out, in;
};
constexpr Gpt2Matrix kGpt2Matrices[] = {
    {"attn.c_attn", "attn_qkv", 2304, 768},
    {"attn.c_proj", "attn_output", 768, 768},
    {"mlp.c_proj", "ffn_down", 768, 3072},
};

const Gpt2Matrix& matrix_of(const std::string& module) {
  for (const auto& m : kGpt2Matrices)
    if (module == m.module) return m;
  BOOST_FAIL("no GPT-2 matrix " << module);
  return kGpt2Matrices[0];
}

std::map<std::string, std::vector<uint64_t>> shapes_of(const fs::path& path) {
  auto reader = qf_test::plugins().open_reader(path.string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  std::map<std::string, std::vector<uint64_t>> out;
  for (const auto& t : (*reader)->tensors()) out[t.name] = t.shape;
  return out;
}

// The bytes `codec` gives a row-major f32 tensor of `cols`-long rows.
std::vector<uint8_t> encoded(const char* codec_name, const std::vector<uint8_t>& f32_bytes, uint64_t cols) {
  const auto* codec = qf_test::plugins().find(codec_name);
  BOOST_REQUIRE(codec != nullptr && codec->encode != nullptr);
  const std::vector<float> values = qf_folder::as_floats(f32_bytes);
  const uint64_t rows = values.size() / cols;
  std::vector<uint8_t> out(rows * cols / codec->block_elems * codec->block_bytes);
  BOOST_REQUIRE_EQUAL(
      codec->encode(values.data(), out.data(), static_cast<int64_t>(rows), static_cast<int64_t>(cols), nullptr),
      QF_CODEC_OK);
  return out;
}

struct Converted {
  qf_test::TempDir dir;
  fs::path gguf;
};

// The tigrinya adapter converted over a GPT-2 small base config, with `options`.
void convert_tigrinya(Converted& c, const std::string& options = "") {
  const fs::path base = qf_lora::write_gpt2_base(c.dir / "gpt2");
  c.gguf = c.dir / "tigrinya.gguf";
  auto r = cli("convert " + quote(shared_adapter("lora-gpt2-tigrinya")) + " " + quote(c.gguf) + " --base " +
               quote(base) + " " + options);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
}

}  // namespace

BOOST_AUTO_TEST_CASE(gpt2_adapter_converts_key_by_key_and_tensor_by_tensor,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  Converted c;
  convert_tigrinya(c);
  quantflow::Metadata expected;
  expected.append("general.architecture", MetaValue::make_string("gpt2"));
  expected.append("general.type", MetaValue::make_string("adapter"));
  expected.append("adapter.type", MetaValue::make_string("lora"));
  expected.append("general.name", MetaValue::make_string("Lora Gpt2 Tigrinya"));
  expected.append("adapter.lora.alpha", MetaValue::make_f32(32.0f));  // lora_alpha 32
  expected.append("general.quantization_version", MetaValue::make_u32(2));
  BOOST_CHECK(qf_test::metadata_of(c.gguf) == expected);

  const fs::path source_path = shared_adapter("lora-gpt2-tigrinya") / "adapter_model.safetensors";
  const auto source = qf_test::tensors_of(source_path);
  const auto source_shapes = shapes_of(source_path);
  const auto written = qf_test::tensors_of(c.gguf);
  const auto written_shapes = shapes_of(c.gguf);
  BOOST_CHECK_EQUAL(written.size(), 72u);
  const std::regex peft_name(
      R"(base_model\.model\.transformer\.h\.(\d+)\.(attn\.c_attn|attn\.c_proj|mlp\.c_proj)\.lora_(A|B)\.weight)");
  for (const auto& [name, tensor] : source) {
    std::smatch m;
    BOOST_REQUIRE_MESSAGE(std::regex_match(name, m, peft_name), name);
    const Gpt2Matrix& matrix = matrix_of(m[2]);
    const bool is_a = m[3] == "A";
    const std::string gguf = "blk." + m[1].str() + "." + matrix.gguf + ".weight" + (is_a ? ".lora_a" : ".lora_b");
    BOOST_REQUIRE_MESSAGE(written.count(gguf), "no " << gguf);
    // Copied as they are, no transpose: lora_a = lora_A [r, in], lora_b = lora_B [out, r].
    BOOST_CHECK_MESSAGE(written.at(gguf) == tensor, gguf << " differs from " << name);
    const std::vector<uint64_t> shape =
        is_a ? std::vector<uint64_t>{8, matrix.in} : std::vector<uint64_t>{matrix.out, 8};
    BOOST_CHECK(written_shapes.at(gguf) == shape);
    BOOST_CHECK(source_shapes.at(name) == shape);
  }
}

// PEFT merges a Conv1D pair as W_hf + (B·A)ᵀ·alpha/r into the [in, out] weight; the GGUF base
// is W_hfᵀ, and llama.cpp adds lora_b·lora_a·alpha/rank to it. The two must agree.
BOOST_AUTO_TEST_CASE(gpt2_conv1d_pairs_merge_into_the_transposed_base_as_peft_merges_them,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  Converted c;
  convert_tigrinya(c);
  const fs::path source_path = shared_adapter("lora-gpt2-tigrinya") / "adapter_model.safetensors";
  const auto source = qf_test::tensors_of(source_path);
  const auto source_shapes = shapes_of(source_path);
  const auto written = qf_test::tensors_of(c.gguf);
  const auto written_shapes = shapes_of(c.gguf);
  const double gguf_alpha = qf_test::metadata_of(c.gguf).find("adapter.lora.alpha")->real;
  const double peft_scale = 32.0 / 8.0;  // adapter_config.json: lora_alpha 32, r 8
  std::mt19937 rng(3);
  for (const auto& matrix : kGpt2Matrices) {
    const std::string peft = std::string("base_model.model.transformer.h.5.") + matrix.module;
    const std::string gguf = std::string("blk.5.") + matrix.gguf + ".weight";
    const qf_lora::Matrix A =
        qf_lora::f32_matrix(source_shapes.at(peft + ".lora_A.weight"), source.at(peft + ".lora_A.weight").bytes);
    const qf_lora::Matrix B =
        qf_lora::f32_matrix(source_shapes.at(peft + ".lora_B.weight"), source.at(peft + ".lora_B.weight").bytes);
    const qf_lora::Matrix lora_a =
        qf_lora::f32_matrix(written_shapes.at(gguf + ".lora_a"), written.at(gguf + ".lora_a").bytes);
    const qf_lora::Matrix lora_b =
        qf_lora::f32_matrix(written_shapes.at(gguf + ".lora_b"), written.at(gguf + ".lora_b").bytes);
    const qf_lora::Matrix w_hf = qf_lora::random_matrix(matrix.in, matrix.out, rng);  // Conv1D: [in, out]
    const qf_lora::Matrix peft_merged =
        qf_lora::plus_scaled(w_hf, qf_lora::transposed(qf_lora::product(B, A)), peft_scale);
    const qf_lora::Matrix gguf_merged = qf_lora::plus_scaled(
        qf_lora::transposed(w_hf), qf_lora::product(lora_b, lora_a), gguf_alpha / static_cast<double>(lora_a.rows));
    BOOST_REQUIRE_EQUAL(gguf_merged.rows, matrix.out);  // the GGUF base's [out, in]
    BOOST_CHECK_LT(qf_lora::max_difference(gguf_merged, qf_lora::transposed(peft_merged)), 1e-6);
    // The delta is not negligible: the check would see a pair written the wrong way round.
    BOOST_CHECK_GT(qf_lora::max_difference(gguf_merged, qf_lora::transposed(w_hf)), 1e-4);
  }
}

BOOST_AUTO_TEST_CASE(gpt2_adapter_types_are_the_converters_outtypes,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  const auto source = qf_test::tensors_of(shared_adapter("lora-gpt2-tigrinya") / "adapter_model.safetensors");
  const std::string a = "base_model.model.transformer.h.0.mlp.c_proj.lora_A.weight";  // [8, 3072]
  const std::string b = "base_model.model.transformer.h.0.mlp.c_proj.lora_B.weight";  // [768, 8]
  struct Case {
    const char* type;
    const char* a_type;
    const char* b_type;  // q8_0: lora_b's rows (r = 8) are not whole 32-blocks, so F16 as the converter falls back
  };
  for (const Case& t : {Case{"f16", "f16", "f16"}, Case{"bf16", "bf16", "bf16"}, Case{"q8_0", "q8_0", "f16"}}) {
    Converted c;
    convert_tigrinya(c, std::string("--type ") + t.type);
    const auto written = qf_test::tensors_of(c.gguf);
    const auto& lora_a = written.at("blk.0.ffn_down.weight.lora_a");
    const auto& lora_b = written.at("blk.0.ffn_down.weight.lora_b");
    BOOST_CHECK_EQUAL(lora_a.type, t.a_type);
    BOOST_CHECK_EQUAL(lora_b.type, t.b_type);
    BOOST_CHECK(lora_a.bytes == encoded(t.a_type, source.at(a).bytes, 3072));
    BOOST_CHECK(lora_b.bytes == encoded(t.b_type, source.at(b).bytes, 8));
    // The adapter converter writes no general.file_type, whatever the type.
    BOOST_CHECK(!qf_test::metadata_of(c.gguf).contains("general.file_type"));
  }
}

BOOST_AUTO_TEST_CASE(classifier_adapter_is_refused_naming_its_head,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qf_test::TempDir dir;
  const fs::path base = qf_lora::write_gpt2_base(dir / "gpt2");
  const fs::path adapter = shared_adapter("lora-gpt2-emotion-seqcls");
  auto r = cli("convert " + quote(adapter) + " " + quote(dir / "out.gguf") + " --base " + quote(base));
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + (adapter / "adapter_model.safetensors").string() +
                               ": tensor 'base_model.model.score.weight': a full [6, 768] tensor, not a LoRA pair, "
                               "and 'score.weight' has no GGUF name in llama.cpp's gpt2 layout (the task head of "
                               "this SEQ_CLS adapter)\n");
  BOOST_CHECK(!fs::exists(dir / "out.gguf"));
}

BOOST_AUTO_TEST_CASE(an_adapter_needs_its_base_models_config,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qf_test::TempDir dir;
  const fs::path adapter = shared_adapter("lora-gpt2-tigrinya");
  auto r = cli("convert " + quote(adapter) + " " + quote(dir / "out.gguf"));
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + adapter.string() +
                               ": a LoRA adapter needs its base model's config.json, and base_model_name_or_path "
                               "('gpt2') names a hub model, which quantflow does not download: pass --base with the "
                               "base model's folder\n");
  // tiny-gpt2 is a GPT-2, but 2 wide: the pairs do not fit it.
  const fs::path tiny = qf_test::shared_testdata() / "hf" / "tiny-gpt2";
  r = cli("convert " + quote(adapter) + " " + quote(dir / "out.gguf") + " --base " + quote(tiny / "config.json"));
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_MESSAGE(
      r.err.find("tensor 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight': lora_B·lora_A is [2304, 768], "
                 "but the base's blk.0.attn_qkv.weight is [6, 2] by " +
                 (tiny / "config.json").string() +
                 ": is --base the adapter's base model ('gpt2' by adapter_config.json)?\n") != std::string::npos,
      r.err);
  BOOST_CHECK(!fs::exists(dir / "out.gguf"));
}

BOOST_AUTO_TEST_CASE(adapter_options_outside_the_converters_are_refused,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qf_test::TempDir dir;
  const fs::path base = qf_lora::write_gpt2_base(dir / "gpt2");
  const std::string adapter = quote(shared_adapter("lora-gpt2-tigrinya"));
  struct Case {
    std::string args;
    std::string error;  // the end of the one line
  };
  const Case cases[] = {
      {adapter + " " + quote(dir / "out.gguf") + " --base " + quote(base) + " --type q4_k",
       "a LoRA adapter is written as f32, f16, bf16 or q8_0 (the --outtype choices of llama.cpp's "
       "convert_lora_to_gguf.py), not 'q4_k'\n"},
      {adapter + " " + quote(dir / "out.safetensors") + " --base " + quote(base),
       "a LoRA adapter converts to GGUF only (llama.cpp's LoRA format), not safetensors\n"},
      {adapter + " " + quote(dir / "out.gguf") + " --base " + quote(dir / "gpt2" / "missing"),
       "--base: no such folder or file\n"},
      {quote(qf_test::shared_testdata() / "models" / "stories260K.gguf") + " " + quote(dir / "out.gguf") + " --base " +
           quote(base),
       "--base is for a PEFT LoRA adapter folder (one holding adapter_config.json); this input is not one\n"},
  };
  for (const Case& c : cases) {
    auto r = cli("convert " + c.args);
    BOOST_CHECK_EQUAL(r.exit_code, 2);
    BOOST_CHECK_MESSAGE(r.err.size() >= c.error.size() && r.err.ends_with(c.error), r.err);
    BOOST_CHECK_EQUAL(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  }
  BOOST_CHECK(qf_test::listing(dir.path) == std::vector<std::string>{"gpt2"});
}
