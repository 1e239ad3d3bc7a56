// Split outputs against llama.cpp's own tools: shards equal llama-gguf-split's, merge with
// `llama-gguf-split --merge` into the unsplit output, load and generate in llama-simple, and
// `quantize --keep-split` equals `llama-quantize --keep-split`. Skipped without ../shared.
#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;
using quantflow::MetaType;
using quantflow::MetaValue;

namespace {

const fs::path kTools = qf_test::shared_dir() / "tools" / "llama.cpp";
const fs::path kSynth = qf_test::shared_testdata() / "reference" / "synth-llama.gguf";
const fs::path kStories = qf_test::shared_testdata() / "models" / "stories260K.gguf";

void run_ok(const std::string& command) {
  auto r = qf_test::run(command);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, command << "\n" << r.err << r.out);
}

void quantflow_ok(const std::string& args) { run_ok(quote(QF_CLI) + " " + args); }

std::string shard(const std::string& stem, int number, int count) {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "-%05d-of-%05d.gguf", number, count);
  return stem + suffix;
}

void expect_same_files(const fs::path& ours, const fs::path& theirs) {
  BOOST_REQUIRE_MESSAGE(fs::exists(ours), ours << " is missing");
  BOOST_REQUIRE_MESSAGE(fs::exists(theirs), theirs << " is missing");
  BOOST_CHECK_MESSAGE(qf_test::read_bytes(ours) == qf_test::read_bytes(theirs), ours << " differs from " << theirs);
}

// The text llama-simple generates greedily from `model` (its stdout).
std::string generate(const fs::path& model) {
  auto r =
      qf_test::run(quote(kTools / "llama-simple") + " -m " + quote(model) + " -n 16 'Once upon a time' 2>/dev/null");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "llama-simple " << model << ": " << r.err);
  return r.out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(llama_cpp_split_tools, *boost::unit_test::precondition(qf_test::shared_data_available()))

BOOST_AUTO_TEST_CASE(shards_equal_llama_gguf_split) {
  // Same names, same tensors per shard (sizes counted padded, M = 10^6), same split keys in the
  // same order, same bytes.
  qf_test::TempDir dir;
  struct Case {
    std::string option;
    int shards;
  };
  for (const Case& c : {Case{"--split-max-size 4M", 4}, Case{"--split-max-tensors 10", 4}}) {
    BOOST_TEST_CONTEXT(c.option) {
      qf_test::TempDir d;
      quantflow_ok("convert -q " + quote(kSynth) + " " + quote(d / "ours.gguf") + " " + c.option);
      run_ok(quote(kTools / "llama-gguf-split") + " --split " + c.option + " " + quote(kSynth) + " " +
             quote(d / "theirs") + " >/dev/null");
      for (int i = 1; i <= c.shards; ++i)
        expect_same_files(d / shard("ours", i, c.shards), d / shard("theirs", i, c.shards));
      BOOST_CHECK(!fs::exists(d / shard("ours", 1, c.shards + 1)));
    }
  }
}

BOOST_AUTO_TEST_CASE(quantized_shards_merge_into_the_unsplit_output) {
  qf_test::TempDir dir;
  const fs::path whole = dir / "whole.gguf";
  quantflow_ok("quantize -q " + quote(kSynth) + " " + quote(whole) + " Q4_K_M");
  quantflow_ok("quantize -q " + quote(kSynth) + " " + quote(dir / "split.gguf") + " Q4_K_M --split-max-size 1M");
  const fs::path first = dir / shard("split", 1, 3);
  BOOST_REQUIRE(fs::exists(dir / shard("split", 3, 3)));
  const fs::path merged = dir / "merged.gguf";
  run_ok(quote(kTools / "llama-gguf-split") + " --merge " + quote(first) + " " + quote(merged) + " 2>/dev/null");
  // The merged file is the unsplit output plus the keys gguf-split leaves: split.no = 0,
  // split.tensors.count and split.count = 0 (which readers take for a whole file).
  BOOST_CHECK(qf_test::tensors_of(merged) == qf_test::tensors_of(whole));
  quantflow::Metadata expected = qf_test::metadata_of(whole);
  expected.set("split.no", MetaValue::make_unsigned(MetaType::u16, 0));
  expected.set("split.tensors.count", MetaValue::make_i32(39));
  expected.set("split.count", MetaValue::make_unsigned(MetaType::u16, 0));
  BOOST_CHECK(qf_test::metadata_of(merged) == expected);
  // Dropping those keys gives back the unsplit output, byte for byte (llama-quantize's own).
  quantflow_ok("convert -q " + quote(merged) + " " + quote(dir / "back.gguf"));
  expect_same_files(dir / "back.gguf", whole);
  expect_same_files(whole, qf_test::shared_testdata() / "reference" / "synth-llama-Q4_K_M.gguf");
}

BOOST_AUTO_TEST_CASE(shards_load_and_generate_in_llama_simple) {
  qf_test::TempDir dir;
  // quantize, convert and run outputs, each split in three, generate what the unsplit file does.
  quantflow_ok("quantize -q " + quote(kStories) + " " + quote(dir / "q.gguf") + " Q4_K_M 2>/dev/null");
  quantflow_ok("quantize -q " + quote(kStories) + " " + quote(dir / "qs.gguf") +
               " Q4_K_M --split-max-tensors 16 2>/dev/null");
  const std::string text = generate(dir / "q.gguf");
  BOOST_CHECK(text.find("Once upon a time") != std::string::npos);
  BOOST_CHECK_EQUAL(generate(dir / shard("qs", 1, 3)), text);

  quantflow_ok("convert -q " + quote(kStories) + " " + quote(dir / "c.gguf") + " --split-max-size 500K");
  BOOST_CHECK_EQUAL(generate(dir / shard("c", 1, 3)), generate(kStories));

  const fs::path recipe = dir / "r.yaml";
  qf_test::write_text(recipe, "inputs: " + kStories.string() + "\noutput: " + (dir / "r.gguf").string() +
                                  "\ndefault_type: q8_0\nfallback: [f16]\n");
  quantflow_ok("run -q " + quote(recipe) + " --split-max-tensors 20");
  quantflow_ok("run -q " + quote(recipe) + " --set output=" + quote(dir / "r1.gguf"));
  BOOST_CHECK_EQUAL(generate(dir / shard("r", 1, 3)), generate(dir / "r1.gguf"));
}

BOOST_AUTO_TEST_CASE(keep_split_equals_llama_quantize) {
  qf_test::TempDir dir;
  run_ok(quote(kTools / "llama-gguf-split") + " --split --split-max-tensors 10 " + quote(kSynth) + " " +
         quote(dir / "in") + " >/dev/null");
  const fs::path first = dir / shard("in", 1, 4);
  run_ok(quote(kTools / "llama-quantize") + " --keep-split " + quote(first) + " " + quote(dir / "theirs.gguf") +
         " Q4_K_M 1 >/dev/null 2>&1");
  quantflow_ok("quantize -q --keep-split " + quote(first) + " " + quote(dir / "ours.gguf") + " Q4_K_M");
  for (int i = 1; i <= 4; ++i) expect_same_files(dir / shard("ours", i, 4), dir / shard("theirs", i, 4));

  // An unsplit input gives one "-00001-of-00001" file without split keys, in the input's order.
  run_ok(quote(kTools / "llama-quantize") + " --keep-split " + quote(kSynth) + " " + quote(dir / "u-theirs.gguf") +
         " Q4_K_M 1 >/dev/null 2>&1");
  quantflow_ok("quantize -q --keep-split " + quote(kSynth) + " " + quote(dir / "u-ours.gguf") + " Q4_K_M");
  expect_same_files(dir / shard("u-ours", 1, 1), dir / shard("u-theirs", 1, 1));
  BOOST_CHECK(!fs::exists(dir / "u-ours.gguf"));
  // Loading keeps working: the shards read as the whole quantized model.
  BOOST_CHECK(qf_test::tensors_of(dir / shard("ours", 1, 4)) == qf_test::tensors_of(dir / shard("u-ours", 1, 1)));
}

BOOST_AUTO_TEST_SUITE_END()
