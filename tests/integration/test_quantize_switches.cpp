// The rest of llama-quantize's command line (--include-weights, --exclude-weights,
// --tensor-type-file, --prune-layers), byte for byte against llama-quantize where it accepts
// the same arguments, and what quantize adds: --no-fallback, and fallbacks listed with their
// cost by --dry-run, `run --dry-run` and reports.
#include <nlohmann/json.hpp>

#include "support/imatrix_file.hpp"
#include "support/json_schema.hpp"
#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;

namespace {

const fs::path kLlamaQuantize = qf_test::shared_dir() / "tools" / "llama.cpp" / "llama-quantize";
const fs::path kSynth = qf_test::shared_testdata() / "reference" / "synth-llama.gguf";

qf_test::CommandResult run_ok(const std::string& args) {
  auto r = cli(args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, args << "\n" << r.err << r.out);
  return r;
}

// Runs llama-quantize and quantflow quantize with the same options; the files must be equal.
void expect_same_as_llama_quantize(const qf_test::TempDir& dir, const std::string& options, const std::string& type) {
  BOOST_TEST_CONTEXT(options << " " << type) {
    const fs::path theirs = dir / "theirs.gguf", ours = dir / "ours.gguf";
    fs::remove(theirs);
    fs::remove(ours);
    auto ref = qf_test::run(quote(kLlamaQuantize) + " " + options + " " + quote(kSynth) + " " + quote(theirs) + " " +
                            type + " 1 >/dev/null 2>&1");
    BOOST_REQUIRE_MESSAGE(ref.exit_code == 0, "llama-quantize " << options);
    run_ok("quantize -q " + options + " " + quote(kSynth) + " " + quote(ours) + " " + type);
    BOOST_CHECK_MESSAGE(qf_test::read_bytes(ours) == qf_test::read_bytes(theirs), "the files differ");
  }
}

void expect_error(const std::string& args, const std::string& line) {
  auto r = cli(args);
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + line + "\n");
}

// One layer whose rows fit no k-quant block: hidden 96 (q5_0 and q8_0 fit), ffn 176 (only f16).
struct NarrowModel {
  qf_test::TempDir dir;
  fs::path path =
      qf_test::synth_model(dir / "n.gguf", "--layers 1 --hidden 96 --ffn 176 --vocab 64 --heads 2 --kv-heads 1");
};

}  // namespace

BOOST_AUTO_TEST_SUITE(against_llama_quantize, *boost::unit_test::precondition(qf_test::shared_data_available()))

BOOST_AUTO_TEST_CASE(include_and_exclude_weights_select_importance_entries) {
  // Substring matches on the importance matrix's entries: the tensors left out are quantized
  // without weights, and quantize.imatrix.entries_count counts what is left.
  qf_test::TempDir dir;
  const fs::path imatrix = dir / "synth.dat";
  qf_test::write_imatrix_for(kSynth, imatrix);
  const std::string with = "--imatrix " + quote(imatrix) + " ";
  expect_same_as_llama_quantize(dir, with + "--exclude-weights attn", "IQ4_XS");
  BOOST_CHECK_EQUAL(qf_test::metadata_of(dir / "ours.gguf").find("quantize.imatrix.entries_count")->as_u64(), 14u);
  expect_same_as_llama_quantize(dir, with + "--include-weights ffn_down --include-weights output", "IQ4_XS");
  // 4 ffn_down, and "output" is in output.weight and the 4 attn_output.weight too.
  BOOST_CHECK_EQUAL(qf_test::metadata_of(dir / "ours.gguf").find("quantize.imatrix.entries_count")->as_u64(), 9u);
  // Nothing left: no importance matrix at all, so no quantize.imatrix.* keys either.
  expect_same_as_llama_quantize(dir, with + "--include-weights nothing-matches", "Q4_K_M");
  BOOST_CHECK(!qf_test::metadata_of(dir / "ours.gguf").contains("quantize.imatrix.file"));

  // A type that needs weights refuses a tensor whose entry was excluded, as llama-quantize does.
  expect_error("quantize " + with + "--exclude-weights blk " + quote(kSynth) + " " + quote(dir / "x.gguf") + " IQ2_XXS",
               kSynth.string() +
                   ": tensor 'blk.0.attn_k.weight': this quantization requires an imatrix (IQ2_XXS makes this tensor "
                   "iq2_xxs); the importance matrix has no entry for it (see --include-weights / --exclude-weights)");
  expect_error("quantize " + with + "--include-weights a --exclude-weights b " + quote(kSynth) + " " +
                   quote(dir / "x.gguf") + " Q4_K_M",
               "--include-weights and --exclude-weights cannot be used together");
  BOOST_CHECK(!fs::exists(dir / "x.gguf"));
}

BOOST_AUTO_TEST_CASE(tensor_type_file_reads_like_repeated_tensor_types) {
  // Items in the file take its place among the --tensor-type options: the first match wins, so
  // attn_k keeps the q4_0 given before the file, attn_q the file's q8_0, the rest of blk.0 q5_K.
  qf_test::TempDir dir;
  qf_test::write_text(dir / "types.txt", "attn_q=q8_0  ffn_down=q6_k\nblk\\.0\\.=q5_K\n");
  expect_same_as_llama_quantize(
      dir, "--tensor-type attn_k=q4_0 --tensor-type-file " + quote(dir / "types.txt") + " --tensor-type blk=q8_0",
      "Q4_K_M");
  const auto types = qf_test::tensors_of(dir / "ours.gguf");
  BOOST_CHECK_EQUAL(types.at("blk.0.attn_k.weight").type, "q4_0");
  BOOST_CHECK_EQUAL(types.at("blk.0.attn_q.weight").type, "q8_0");
  BOOST_CHECK_EQUAL(types.at("blk.0.attn_output.weight").type, "q5_k");
  BOOST_CHECK_EQUAL(types.at("blk.1.ffn_down.weight").type, "q6_k");
  BOOST_CHECK_EQUAL(types.at("blk.1.attn_output.weight").type, "q8_0");
}

BOOST_AUTO_TEST_CASE(pruning_the_last_layers_equals_llama_quantize) {
  qf_test::TempDir dir;
  expect_same_as_llama_quantize(dir, "--prune-layers 3,2", "Q4_K_M");
  expect_same_as_llama_quantize(dir, "--prune-layers 3 --override-kv general.name=str:short", "Q8_0");
  const auto metadata = qf_test::metadata_of(dir / "ours.gguf");
  BOOST_CHECK_EQUAL(metadata.find("llama.block_count")->as_u64(), 3u);
  BOOST_CHECK_EQUAL(metadata.entries().back().key, "llama.block_count");  // set after the overrides
}

BOOST_AUTO_TEST_CASE(pruning_middle_layers_renumbers_the_rest) {
  // Blocks 1 and 2 go; block 3 becomes block 1. The file llama-quantize writes has the same
  // metadata, names, order and types, but llama-quantize (d32676d) loads each renamed tensor's
  // data by its new name, so its blk.1 holds the old blk.1's weights: a bug that quantflow does
  // not copy. Every other tensor is byte-identical.
  qf_test::TempDir dir;
  const fs::path theirs = dir / "theirs.gguf", ours = dir / "ours.gguf", whole = dir / "whole.gguf";
  auto ref = qf_test::run(quote(kLlamaQuantize) + " --prune-layers 1,2 " + quote(kSynth) + " " + quote(theirs) +
                          " Q4_K_M 1 >/dev/null 2>&1");
  BOOST_REQUIRE_EQUAL(ref.exit_code, 0);
  run_ok("quantize -q --prune-layers 2,1 " + quote(kSynth) + " " + quote(ours) + " Q4_K_M");
  run_ok("quantize -q " + quote(kSynth) + " " + quote(whole) + " Q4_K_M");
  BOOST_CHECK(qf_test::metadata_of(ours) == qf_test::metadata_of(theirs));
  BOOST_CHECK_EQUAL(qf_test::metadata_of(ours).find("llama.block_count")->as_u64(), 2u);
  auto ours_reader = qf_test::plugins().open_reader(ours.string());
  auto theirs_reader = qf_test::plugins().open_reader(theirs.string());
  BOOST_REQUIRE(ours_reader.ok() && theirs_reader.ok());
  const auto& a = (*ours_reader)->tensors();
  const auto& b = (*theirs_reader)->tensors();
  BOOST_REQUIRE_EQUAL(a.size(), 21u);
  BOOST_REQUIRE_EQUAL(b.size(), 21u);
  const auto ours_tensors = qf_test::tensors_of(ours), theirs_tensors = qf_test::tensors_of(theirs),
             whole_tensors = qf_test::tensors_of(whole);
  for (size_t i = 0; i < a.size(); ++i) {
    BOOST_TEST_CONTEXT(a[i].name) {
      BOOST_CHECK_EQUAL(a[i].name, b[i].name);
      BOOST_CHECK_EQUAL(a[i].dtype.name, b[i].dtype.name);
      const auto& mine = ours_tensors.at(a[i].name);
      if (!a[i].name.starts_with("blk.1.")) {
        BOOST_CHECK(mine == theirs_tensors.at(a[i].name));
        continue;
      }
      // The old block 3's weights, quantized as the unpruned model quantizes them where the
      // type is the same (attn_v is q6_k here: the second of two attn_v tensors).
      const auto& old = whole_tensors.at("blk.3." + a[i].name.substr(6));
      if (old.type == mine.type) BOOST_CHECK(mine == old);
    }
  }
  BOOST_CHECK_EQUAL(ours_tensors.at("blk.1.attn_v.weight").type, "q6_k");
  BOOST_CHECK(ours_tensors.at("blk.1.attn_norm.weight") == qf_test::tensors_of(kSynth).at("blk.3.attn_norm.weight"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(switch_errors_are_one_line_usage_errors) {
  NarrowModel m;
  const std::string io = quote(m.path) + " " + quote(m.dir / "o.gguf");
  expect_error("quantize " + io + " Q8_0 --prune-layers 1,x",
               "--prune-layers: invalid layer id 'x' (expected L1,L2,... with layer numbers)");
  expect_error("quantize " + io + " Q8_0 --prune-layers 1,,2",
               "--prune-layers: invalid layer id '' (expected L1,L2,... with layer numbers)");
  expect_error("quantize " + io + " Q8_0 --tensor-type-file " + quote(m.dir / "none.txt"),
               (m.dir / "none.txt").string() + ": --tensor-type-file: cannot open it: No such file or directory");
  qf_test::write_text(m.dir / "bad.txt", "attn_q=q8_0 # comment\n");
  expect_error("quantize " + io + " Q8_0 --tensor-type-file " + quote(m.dir / "bad.txt"),
               (m.dir / "bad.txt").string() + ": --tensor-type-file: each item '#' must be PATTERN=TYPE");
  BOOST_CHECK(!fs::exists(m.dir / "o.gguf"));
  // Pruning every block leaves a model of 0 layers, as llama-quantize writes it.
  run_ok("quantize -q " + io + " Q8_0 --prune-layers 0");
  BOOST_CHECK_EQUAL(qf_test::metadata_of(m.dir / "o.gguf").find("llama.block_count")->as_u64(), 0u);
  BOOST_CHECK_EQUAL(qf_test::tensors_of(m.dir / "o.gguf").size(), 3u);
}

BOOST_AUTO_TEST_CASE(no_fallback_refuses_instead_of_changing_a_type) {
  NarrowModel m;
  expect_error("quantize " + quote(m.path) + " " + quote(m.dir / "o.gguf") + " Q4_K_M --no-fallback",
               m.path.string() +
                   ": tensor 'output.weight': row length 96 is not a multiple of q4_K's block of 256; --no-fallback "
                   "refuses the fallback to q8_0");
  expect_error("quantize " + quote(m.path) + " " + quote(m.dir / "o.gguf") + " Q4_K_M --no-fallback --pure",
               m.path.string() +
                   ": tensor 'output.weight': row length 96 is not a multiple of q4_K's block of 256; "
                   "--no-fallback refuses the fallback to q5_0");
  BOOST_CHECK(!fs::exists(m.dir / "o.gguf"));
  // Types whose blocks fit are not fallbacks.
  run_ok("quantize -q " + quote(m.path) + " " + quote(m.dir / "o.gguf") +
         " Q8_0 --no-fallback --tensor-type "
         "ffn_down=f16");
}

BOOST_AUTO_TEST_CASE(dry_run_lists_every_fallback_with_its_cost) {
  NarrowModel m;
  auto r = run_ok("quantize " + quote(m.path) + " " + quote(m.dir / "o.gguf") + " Q4_K_M --dry-run");
  const auto has = [&](const std::string& line) {
    BOOST_CHECK_MESSAGE(r.out.find(line + "\n") != std::string::npos, line << " not in\n" << r.out);
  };
  // q5_0 is 5.5 bits per weight against q4_k's 4.5; over 64 x 96 weights that is 768 bytes.
  has("fallback: token_embd.weight: q4_k -> q5_0 (row length 96 is not a multiple of q4_k's block of 256), "
      "+1.00 bpw, +768 B");
  // llama's rule for output rows that do not fit: q8_0 (8.5 bpw).
  has("fallback: output.weight: q4_k -> q8_0 (row length 96 is not a multiple of q4_k's block of 256), +4.00 bpw, "
      "+3.00 KiB");
  // q6_k's fallback q8_0 does not fit 176 either: f16, 16 - 6.5625 bits per weight.
  has("fallback: blk.0.ffn_down.weight: q6_k -> f16 (row length 176 is not a multiple of q6_k's block of 256), "
      "+9.44 bpw, +19.46 KiB");
  size_t lines = 0;
  for (size_t at = r.out.find("fallback: "); at != std::string::npos; at = r.out.find("fallback: ", at + 1)) ++lines;
  BOOST_CHECK_EQUAL(lines, 9u);
  BOOST_CHECK(r.out.find(", 9 tensors used a fallback type (+31.24 KiB)\n") != std::string::npos);
  BOOST_CHECK(!fs::exists(m.dir / "o.gguf"));
}

BOOST_AUTO_TEST_CASE(run_dry_run_and_reports_list_fallbacks) {
  NarrowModel m;
  const fs::path recipe = m.dir / "r.yaml";
  qf_test::write_text(recipe, "inputs: " + m.path.string() + "\noutput:\n  path: " + (m.dir / "o.gguf").string() +
                                  "\n  report: " + (m.dir / "report.json").string() +
                                  "\ndefault_type: q4_k\nfallback: [q5_0, f16]\n");
  const std::string line =
      "fallback: blk.0.ffn_down.weight: q4_k -> f16 (row length 176 is not a multiple of q4_k's block of 256), "
      "+11.50 bpw, +23.72 KiB\n";
  auto text = run_ok("run --dry-run " + quote(recipe));
  BOOST_CHECK_MESSAGE(text.out.find(line) != std::string::npos, text.out);
  auto json = run_ok("run --dry-run --json " + quote(recipe));
  const auto plan = nlohmann::json::parse(json.out);
  // Every block matrix (token_embd and output are protected: they stay f32).
  BOOST_REQUIRE_EQUAL(plan["fallbacks"].size(), 7u);
  nlohmann::json down;
  for (const auto& f : plan["fallbacks"])
    if (f["tensor"] == "blk.0.ffn_down.weight") down = f;
  const nlohmann::json expected = {{"tensor", "blk.0.ffn_down.weight"},
                                   {"wanted", "q4_k"},
                                   {"used", "f16"},
                                   {"why", "row length 176 is not a multiple of q4_k's block of 256"},
                                   {"bits_per_weight", 11.5},
                                   {"extra_bytes", 24288}};
  BOOST_CHECK_EQUAL(down, expected);
  auto written = run_ok("run " + quote(recipe));
  BOOST_CHECK_MESSAGE(written.out.find(line) != std::string::npos, written.out);
  std::ifstream in(m.dir / "report.json");
  const auto report = nlohmann::json::parse(in);
  BOOST_CHECK_EQUAL(report["fallbacks"], plan["fallbacks"]);
  // Both as docs/json.schema.json describes them.
  std::ifstream schema_file(qf_test::repo_dir() / "docs" / "json.schema.json");
  const auto schema = nlohmann::json::parse(schema_file);
  BOOST_CHECK_EQUAL(qf_test::check_schema(schema["definitions"]["event"], plan, schema, "plan"), "");
  BOOST_CHECK_EQUAL(qf_test::check_schema(schema["definitions"]["report"], report, schema, "report"), "");
}
