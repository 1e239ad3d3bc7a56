// `quantflow verify` and `quantflow diff` end to end: passing and failing verifications,
// a corrupted block scale, and diffs of conversions and of the ../shared reference files.
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pipeline/analysis/error_bounds.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using qf_test::cli;
using qf_test::quote;

namespace {

const fs::path kReference = qf_test::shared_testdata() / "reference";
const std::string kSmallModel = " --layers 1 --hidden 256 --ffn 512 --vocab 256";

fs::path synth(const qf_test::TempDir& tmp, const std::string& name, const std::string& args = kSmallModel) {
  return qf_test::synth_model(tmp / name, args);
}

fs::path convert(const fs::path& in, const fs::path& out, const std::string& type) {
  auto r = cli("convert -q --type " + type + " " + quote(in) + " " + quote(out));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return out;
}

json run_json(const std::string& args, int expected_exit) {
  auto r = cli(args + " --json");
  BOOST_REQUIRE_MESSAGE(r.exit_code == expected_exit, "exit " << r.exit_code << ": " << r.err << r.out);
  return json::parse(r.out);
}

const json& tensor_entry(const json& list, const std::string& name) {
  for (const auto& t : list)
    if (t["name"] == name) return t;
  BOOST_FAIL("no entry for tensor " << name);
  static const json none;
  return none;
}

// Overwrites the fp16 scale of block `block` of a q8_0 tensor with a NaN (0x7E00).
void poison_q8_0_scale(const fs::path& path, const std::string& tensor, uint64_t block) {
  const json info = run_json("inspect " + quote(path), 0);
  const uint64_t data_offset = info["properties"]["data_offset"].get<uint64_t>();
  uint64_t offset = 0;
  for (const auto& t : info["tensors"])
    if (t["name"] == tensor) {
      BOOST_REQUIRE_EQUAL(t["dtype"], "q8_0");
      offset = t["offset"].get<uint64_t>();
    }
  constexpr uint64_t kQ8_0BlockBytes = 2 + 32;  // fp16 scale, 32 int8 quants
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>(data_offset + offset + block * kQ8_0BlockBytes));
  const char nan_fp16_le[2] = {0x00, 0x7E};
  file.write(nan_fp16_le, 2);
  BOOST_REQUIRE(file.good());
}

size_t count_lines_starting(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(verify_of_a_synth_model_passes) {
  qf_test::TempDir tmp;
  const auto model = synth(tmp, "m.gguf");
  auto r = cli("verify " + quote(model));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err << r.out);
  BOOST_CHECK(r.err.empty());
  BOOST_CHECK(r.out.find("container:  gguf (version 3)") != std::string::npos);
  BOOST_CHECK(r.out.find("data_offset:") != std::string::npos);
  BOOST_CHECK(r.out.find("structure:  passed") != std::string::npos);
  const size_t n = run_json("inspect " + quote(model), 0)["tensors"].size();
  BOOST_CHECK_MESSAGE(r.out.find("verified " + std::to_string(n) + " tensors: " + std::to_string(n) +
                                 " passed, 0 failed, 0 not checked\n") != std::string::npos,
                      r.out);

  const json j = run_json("verify " + quote(model), 0);
  BOOST_CHECK_EQUAL(j["result"], "passed");
  BOOST_CHECK_EQUAL(j["structure"], "passed");
  BOOST_CHECK_EQUAL(j["summary"]["tensors"], n);
  BOOST_CHECK_EQUAL(j["summary"]["passed"], n);
  BOOST_CHECK_EQUAL(j["tensors"].size(), n);
  BOOST_CHECK_EQUAL(tensor_entry(j["tensors"], "token_embd.weight")["status"], "passed");
}

BOOST_AUTO_TEST_CASE(verify_of_a_q4_k_conversion_against_its_source_passes_with_plausible_errors) {
  qf_test::TempDir tmp;
  const auto model = synth(tmp, "m.gguf");
  const auto q4k = convert(model, tmp / "q4k.gguf", "q4_k");
  const json j = run_json("verify " + quote(q4k) + " --against " + quote(model), 0);
  BOOST_CHECK_EQUAL(j["result"], "passed");
  BOOST_CHECK_EQUAL(j["against"], model.string());
  BOOST_CHECK_EQUAL(j["summary"]["failed"], 0);
  BOOST_CHECK_EQUAL(j["summary"]["not_checked"], 0);
  size_t quantized = 0;
  for (const auto& t : j["tensors"]) {
    BOOST_TEST_CONTEXT(t["name"]) {
      BOOST_CHECK_EQUAL(t["status"], "passed");
      const double rel = t["rel_rmse"].get<double>();
      if (t["dtype"] == "q4_k") {
        ++quantized;
        // Gaussian weights: near the codec's measured 0.071, well inside 3x that.
        BOOST_CHECK_GT(rel, 0.03);
        BOOST_CHECK_LT(rel, 0.1);
        BOOST_CHECK_GT(t["max_abs"].get<double>(), 0.0);
        BOOST_CHECK_CLOSE(t["bound"].get<double>(), 3 * 0.07065, 1e-6);
      } else {
        BOOST_CHECK_EQUAL(t["dtype"], "f32");  // norms keep their encoding, bit for bit
        BOOST_CHECK_EQUAL(rel, 0.0);
        BOOST_CHECK_EQUAL(t["max_abs"].get<double>(), 0.0);
      }
    }
  }
  BOOST_CHECK_GE(quantized, 7u);

  auto text = cli("verify " + quote(q4k) + " --against " + quote(model));
  BOOST_CHECK_EQUAL(text.exit_code, 0);
  BOOST_CHECK(text.out.find("against:    " + model.string()) != std::string::npos);
  BOOST_CHECK(text.out.find(" 0 failed, 0 not checked") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(verify_fails_a_tensor_whose_block_scale_is_nan) {
  qf_test::TempDir tmp;
  const auto model = synth(tmp, "m.gguf");
  const auto q8 = convert(model, tmp / "q8.gguf", "q8_0");
  BOOST_REQUIRE_EQUAL(cli("verify " + quote(q8) + " --against " + quote(model)).exit_code, 0);
  poison_q8_0_scale(q8, "blk.0.attn_q.weight", 1);

  auto r = cli("verify " + quote(q8));
  BOOST_CHECK_EQUAL(r.exit_code, 1);
  BOOST_CHECK(r.err.empty());
  BOOST_CHECK_MESSAGE(r.out.find("32 NaN/Inf values, first at element 32") != std::string::npos, r.out);
  BOOST_CHECK(r.out.find("1 failed, 0 not checked") != std::string::npos);
  const json alone = run_json("verify " + quote(q8), 1);
  const auto& bad = tensor_entry(alone["tensors"], "blk.0.attn_q.weight");
  BOOST_CHECK_EQUAL(bad["status"], "failed");
  BOOST_CHECK_EQUAL(tensor_entry(alone["tensors"], "blk.0.attn_k.weight")["status"], "passed");
  BOOST_CHECK_EQUAL(alone["result"], "failed");
  BOOST_CHECK_EQUAL(alone["summary"]["failed"], 1);

  const json against = run_json("verify " + quote(q8) + " --against " + quote(model), 1);
  BOOST_CHECK_EQUAL(tensor_entry(against["tensors"], "blk.0.attn_q.weight")["reason"],
                    "32 NaN/Inf values where the original is finite, first at element 32");
  BOOST_CHECK_EQUAL(against["summary"]["failed"], 1);
}

BOOST_AUTO_TEST_CASE(verify_against_reports_missing_extra_and_reshaped_tensors) {
  qf_test::TempDir tmp;
  const auto one_layer = synth(tmp, "one.gguf");
  const auto two_layers = synth(tmp, "two.gguf", " --layers 2 --hidden 256 --ffn 512 --vocab 256");
  const auto other_vocab = synth(tmp, "vocab.gguf", " --layers 1 --hidden 256 --ffn 512 --vocab 512");

  const json missing = run_json("verify " + quote(one_layer) + " --against " + quote(two_layers), 1);
  const auto& gone = tensor_entry(missing["tensors"], "blk.1.attn_q.weight");
  BOOST_CHECK_EQUAL(gone["status"], "failed");
  BOOST_CHECK_EQUAL(gone["reason"], "missing: only in the original");
  // Same seed and shapes: the shared tensors are bit-identical.
  BOOST_CHECK_EQUAL(tensor_entry(missing["tensors"], "blk.0.attn_q.weight")["status"], "passed");

  const json extra = run_json("verify " + quote(two_layers) + " --against " + quote(one_layer), 1);
  BOOST_CHECK_EQUAL(tensor_entry(extra["tensors"], "blk.1.attn_q.weight")["reason"], "not in the original");

  auto reshaped = cli("verify " + quote(one_layer) + " --against " + quote(other_vocab));
  BOOST_CHECK_EQUAL(reshaped.exit_code, 1);
  BOOST_CHECK_MESSAGE(reshaped.out.find("shape [256, 256] but the original has [512, 256]") != std::string::npos,
                      reshaped.out);
}

BOOST_AUTO_TEST_CASE(verify_and_diff_refuse_unreadable_files_with_exit_2) {
  qf_test::TempDir tmp;
  const auto model = synth(tmp, "m.gguf");
  qf_test::write_text(tmp / "junk.gguf", "GGUF but not really");
  for (const std::string& args : {"verify " + quote(tmp / "absent.gguf"), "verify " + quote(tmp / "junk.gguf"),
                                  "verify " + quote(model) + " --against " + quote(tmp / "absent.gguf"),
                                  "diff " + quote(model) + " " + quote(tmp / "junk.gguf")}) {
    BOOST_TEST_CONTEXT(args) {
      auto r = cli(args);
      BOOST_CHECK_EQUAL(r.exit_code, 2);
      BOOST_CHECK(r.out.empty());
      BOOST_CHECK(r.err.rfind("quantflow: error: ", 0) == 0);
      BOOST_CHECK_EQUAL(std::count(r.err.begin(), r.err.end(), '\n'), 1);
    }
  }
  BOOST_CHECK_EQUAL(cli("verify").exit_code, 2);
  BOOST_CHECK_EQUAL(cli("diff " + quote(model)).exit_code, 2);
}

BOOST_AUTO_TEST_CASE(help_lists_every_option) {
  auto verify = cli("verify --help");
  BOOST_CHECK_EQUAL(verify.exit_code, 0);
  for (const char* option : {"--against", "--json", "--plugin-dir", "Exit status"})
    BOOST_CHECK_MESSAGE(verify.out.find(option) != std::string::npos, option);
  auto diff = cli("diff --help");
  BOOST_CHECK_EQUAL(diff.exit_code, 0);
  for (const char* option : {"--max-error", "--json", "--plugin-dir", "Exit status"})
    BOOST_CHECK_MESSAGE(diff.out.find(option) != std::string::npos, option);
  auto top = cli("--help");
  BOOST_CHECK(top.out.find("verify") != std::string::npos);
  BOOST_CHECK(top.out.find("diff") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(diff_of_a_file_with_itself_is_empty) {
  qf_test::TempDir tmp;
  const auto model = synth(tmp, "m.gguf");
  auto r = cli("diff " + quote(model) + " " + quote(model));
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK_EQUAL(
      r.out, "--- " + model.string() + "\n+++ " + model.string() + "\n0 metadata differences, 0 tensor differences\n");
  const json j = run_json("diff " + quote(model) + " " + quote(model) + " --max-error", 0);
  BOOST_CHECK_EQUAL(j["identical"], true);
  BOOST_CHECK(j["metadata"].empty());
  BOOST_CHECK(j["tensors"].empty());
}

BOOST_AUTO_TEST_CASE(diff_after_a_q8_0_conversion_lists_dtypes_and_metadata) {
  qf_test::TempDir tmp;
  const auto model = synth(tmp, "m.gguf");
  const auto q8 = convert(model, tmp / "q8.gguf", "q8_0");
  auto r = cli("diff " + quote(model) + " " + quote(q8));
  BOOST_CHECK_EQUAL(r.exit_code, 1);
  BOOST_CHECK_MESSAGE(r.out.find("general.file_type") != std::string::npos, r.out);
  BOOST_CHECK(r.out.find("general.quantization_version") != std::string::npos);
  BOOST_CHECK(r.out.find("~ token_embd.weight: dtype f32 -> q8_0; max abs error ") != std::string::npos);
  BOOST_CHECK(r.out.find("attn_norm") == std::string::npos);  // unchanged tensors are not listed

  const json j = run_json("diff " + quote(model) + " " + quote(q8), 1);
  BOOST_CHECK_EQUAL(j["identical"], false);
  const auto& file_type = [&]() -> const json& {
    for (const auto& m : j["metadata"])
      if (m["key"] == "general.file_type") return m;
    BOOST_FAIL("general.file_type not listed");
    return j;
  }();
  BOOST_CHECK_EQUAL(file_type["b"]["value"], 7);  // ggml's LLAMA_FTYPE_MOSTLY_Q8_0
  size_t matrices = 0;
  for (const auto& t : j["tensors"]) {
    BOOST_TEST_CONTEXT(t["name"]) {
      BOOST_CHECK_EQUAL(t["change"], "changed");
      BOOST_CHECK_EQUAL(t["dtype_differs"], true);
      BOOST_CHECK_EQUAL(t["shape_differs"], false);
      BOOST_CHECK_EQUAL(t["a"]["dtype"], "f32");
      BOOST_CHECK_EQUAL(t["b"]["dtype"], "q8_0");
      BOOST_CHECK_GT(t["max_abs_error"].get<double>(), 0.0);
      BOOST_CHECK_LT(t["rel_rmse"].get<double>(), 0.01);
      ++matrices;
    }
  }
  BOOST_CHECK_GE(matrices, 7u);
  BOOST_CHECK_EQUAL(j["summary"]["tensor_differences"], matrices);
  BOOST_CHECK(r.out.find(std::to_string(j["summary"]["metadata_differences"].get<size_t>()) +
                         " metadata differences, " + std::to_string(matrices) + " tensor differences\n") !=
              std::string::npos);
}

BOOST_AUTO_TEST_CASE(diff_of_one_dtype_reports_changed_bytes_and_with_max_error_their_error) {
  qf_test::TempDir tmp;
  const auto model = synth(tmp, "m.gguf");
  const auto q8 = convert(model, tmp / "q8.gguf", "q8_0");
  fs::copy_file(q8, tmp / "poisoned.gguf");
  poison_q8_0_scale(tmp / "poisoned.gguf", "blk.0.attn_q.weight", 1);
  auto r = cli("diff " + quote(q8) + " " + quote(tmp / "poisoned.gguf"));
  BOOST_CHECK_EQUAL(r.exit_code, 1);
  BOOST_CHECK_MESSAGE(r.out.find("~ blk.0.attn_q.weight: bytes differ from byte 34\n") != std::string::npos, r.out);
  BOOST_CHECK(r.out.find("0 metadata differences, 1 tensor difference\n") != std::string::npos);
  auto measured = cli("diff --max-error " + quote(q8) + " " + quote(tmp / "poisoned.gguf"));
  BOOST_CHECK_MESSAGE(measured.out.find("32 NaN/Inf values in B where A is finite") != std::string::npos, measured.out);
}

BOOST_AUTO_TEST_CASE(diff_of_reference_q8_0_and_pure_q4_0,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  const auto q8 = kReference / "synth-llama-Q8_0.gguf";
  const auto q4 = kReference / "synth-llama-pure-Q4_0.gguf";
  auto r = cli("diff " + quote(q8) + " " + quote(q4));
  BOOST_CHECK_EQUAL(r.exit_code, 1);
  BOOST_CHECK_MESSAGE(r.out.find("~ general.file_type: u32 7 -> u32 2\n") != std::string::npos, r.out);
  BOOST_CHECK(r.out.find("~ blk.0.attn_q.weight: dtype q8_0 -> q4_0; max abs error ") != std::string::npos);
  BOOST_CHECK_EQUAL(count_lines_starting(r.out, "  - "), 0u);  // same tensor set
  BOOST_CHECK_EQUAL(count_lines_starting(r.out, "  + "), 0u);
  const json j = run_json("diff " + quote(q8) + " " + quote(q4), 1);
  for (const auto& t : j["tensors"]) {
    BOOST_TEST_CONTEXT(t["name"]) {
      BOOST_CHECK_EQUAL(t["dtype_differs"], true);
      // q4_0 vs q8_0 of the same gaussian weights: about q4_0's own error.
      BOOST_CHECK_LT(t["rel_rmse"].get<double>(), 0.15);
    }
  }
  // Each is within its bound of the F32 source.
  for (const auto& file : {q8, q4})
    BOOST_CHECK_EQUAL(cli("verify " + quote(file) + " --against " + quote(kReference / "synth-llama.gguf")).exit_code,
                      0);
}

BOOST_AUTO_TEST_CASE(verify_bounds_are_three_times_the_measured_gaussian_error) {
  std::ifstream tsv(qf_test::repo_dir() / "configs" / "verify" / "calibration.tsv");
  size_t rows = 0;
  for (std::string line; std::getline(tsv, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string codec;
    double gaussian = 0;
    fields >> codec >> gaussian;
    const auto* descriptor = qf_test::plugins().find(codec);
    BOOST_REQUIRE_MESSAGE(descriptor, codec);
    BOOST_TEST_CONTEXT(codec) {
      BOOST_CHECK_CLOSE(quantflow::pipeline::rel_rmse_bound(quantflow::dtype_of(*descriptor)),
                        std::max(3 * gaussian, 1e-7), 1e-9);
    }
    ++rows;
  }
  BOOST_CHECK_GE(rows, 30u);
  // An encoding the table does not know gets a bound from its bits per element.
  const quantflow::DType q3_x{"q3_x", 32, 14, quantflow::DTypeKind::quantized};  // 3.5 bits
  BOOST_CHECK_CLOSE(quantflow::pipeline::rel_rmse_bound(q3_x), 3 * std::max(1.9 * std::exp2(-3.5), std::exp2(-1.75)),
                    1e-9);
  const quantflow::DType f8_x{"f8_x", 1, 1, quantflow::DTypeKind::floating};  // 8 bits, half exponent
  BOOST_CHECK_CLOSE(quantflow::pipeline::rel_rmse_bound(f8_x), 3 * std::exp2(-4.0), 1e-9);
}
