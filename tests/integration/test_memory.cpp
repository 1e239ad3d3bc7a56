// Peak memory follows the budget and the largest tensor, never the model size. Two synthetic
// models share every tensor shape (the largest, ffn 4096 x 1024 F32, is 16 MiB) and differ
// only in depth: 4 layers (304 MiB) and 8 layers (544 MiB). Each command runs on the larger
// one at two budgets and on the smaller one at the low budget; a command that kept tensors
// past their use, or ignored the budget, would peak higher on the larger model.
#include <functional>
#include <map>

#include "support/hf_checkpoints.hpp"
#include "support/peak_rss.hpp"
#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;

namespace {

// The executable, its libraries and plugins, TBB's threads and the write buffer.
constexpr long kFixedOverheadMiB = 80;
// The larger model may peak this much above the smaller one: half its largest tensor, far
// below the 240 MiB of data it adds.
constexpr long kGrowthMarginMiB = 8;
constexpr long kLowBudgetMiB = 32, kHighBudgetMiB = 96;

struct Models {
  qf_test::TempDir dir;
  fs::path small = dir / "small.gguf", large = dir / "large.gguf";
  Models() {
    for (const auto& [path, layers] : {std::pair{small, "4"}, std::pair{large, "8"}}) {
      auto made = cli("synth " + quote(path) + " --layers " + layers + " --hidden 1024 --ffn 4096 --vocab 8192");
      BOOST_REQUIRE_MESSAGE(made.exit_code == 0, made.err);
    }
  }
};

// Synthesized once for all test cases: writing them is most of this test's time.
Models& models() {
  static Models m;
  return m;
}

// diff exits with 1 when the files differ, as they do here.
long peak_mib(const std::vector<std::string>& args, int expected_exit = 0) {
  std::vector<std::string> argv = {QF_CLI};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = qf_test::run_measuring_rss(argv);
  BOOST_REQUIRE_MESSAGE(r.exit_code == expected_exit, "exit code " << r.exit_code << " from " << args[0]);
  return r.max_rss_kib / 1024;
}

std::string mib(long n) { return std::to_string(n) + "M"; }

// A recipe writing `model` as q8_0 in shards of at most 64 MiB of tensor data.
fs::path split_recipe(const qf_test::TempDir& tmp, const fs::path& model) {
  const fs::path recipe = tmp / (model.stem().string() + "-split.yaml");
  qf_test::write_text(recipe, "inputs: " + model.string() + "\noutput:\n  path: " + (tmp / "split.gguf").string() +
                                  "\n  split_size: 64MiB\ndefault_type: q8_0\n");
  return recipe;
}

// Each writing command as argv (after the executable) for a model, budget and output.
using Command = std::function<std::vector<std::string>(const fs::path& model, long budget, const qf_test::TempDir&)>;

}  // namespace

BOOST_AUTO_TEST_CASE(peak_rss_stays_under_the_budget_for_a_model_many_times_larger) {
  qf_test::TempDir tmp;
  const long budget_mib = 64;
  for (const char* type : {"q8_0", "q4_k", ""}) {
    const auto out = tmp / (std::string("out-") + (*type ? type : "copy") + ".gguf");
    std::vector<std::string> args = {"convert", "-q", "--memory-limit", mib(budget_mib)};
    if (*type) args.insert(args.end(), {"--type", type});
    args.insert(args.end(), {models().large.string(), out.string()});
    const long peak = peak_mib(args);
    BOOST_TEST_MESSAGE((*type ? type : "copy")
                       << ": peak RSS " << peak << " MiB for a 544 MiB model, budget " << budget_mib << " MiB");
    BOOST_CHECK_LT(peak, budget_mib + kFixedOverheadMiB);
    fs::remove(out);
  }
}

BOOST_AUTO_TEST_CASE(writing_commands_follow_the_budget_not_the_model_size) {
  const std::vector<std::pair<std::string, Command>> commands = {
      {"convert",
       [](const fs::path& m, long b, const qf_test::TempDir& t) {
         return std::vector<std::string>{"convert", "-q",   "--memory-limit", mib(b),
                                         "--type",  "q8_0", m.string(),       (t / "out.gguf").string()};
       }},
      {"quantize",
       [](const fs::path& m, long b, const qf_test::TempDir& t) {
         return std::vector<std::string>{
             "quantize", "-q", "--memory-limit", mib(b), m.string(), (t / "out.gguf").string(), "Q8_0"};
       }},
      {"run (split output)",
       [](const fs::path& m, long b, const qf_test::TempDir& t) {
         return std::vector<std::string>{"run", split_recipe(t, m).string(), "--memory-limit", mib(b)};
       }},
  };
  for (const auto& [name, command] : commands) {
    long low_large = 0;
    for (const long budget : {kLowBudgetMiB, kHighBudgetMiB}) {
      qf_test::TempDir tmp;
      const long peak = peak_mib(command(models().large, budget, tmp));
      BOOST_TEST_MESSAGE(name << ": peak RSS " << peak << " MiB on 544 MiB at budget " << budget << " MiB");
      BOOST_CHECK_LT(peak, budget + kFixedOverheadMiB);
      if (budget == kLowBudgetMiB) low_large = peak;
      if (name.rfind("run", 0) == 0) {
        size_t shards = 0;
        for (const auto& e : fs::directory_iterator(tmp.path))
          shards += e.path().filename().string().rfind("split-", 0) == 0;
        BOOST_CHECK_EQUAL(shards, 3u);  // 144 MiB of q8_0 in shards of at most 64 MiB
      }
    }
    qf_test::TempDir tmp;
    const long low_small = peak_mib(command(models().small, kLowBudgetMiB, tmp));
    BOOST_TEST_MESSAGE(name << ": peak RSS " << low_small << " MiB on 304 MiB at budget " << kLowBudgetMiB << " MiB");
    BOOST_CHECK_MESSAGE(low_large <= low_small + kGrowthMarginMiB, name << ": peak grew from " << low_small
                                                                        << " MiB to " << low_large
                                                                        << " MiB with the model size");
  }
}

// verify and diff take no budget: they hold one tensor of each file at a time, so their
// peak is bounded by the largest tensor (decoded, 16 MiB per file) whatever the model size.
BOOST_AUTO_TEST_CASE(verify_and_diff_hold_one_tensor_at_a_time) {
  qf_test::TempDir tmp;
  std::map<std::string, long> peaks;
  for (const auto* model : {&models().small, &models().large}) {
    const auto q8 = tmp / (model->stem().string() + "-q8_0.gguf");
    BOOST_REQUIRE_EQUAL(cli("convert -q --type q8_0 " + quote(*model) + " " + quote(q8)).exit_code, 0);
    const std::string size = model == &models().small ? "small" : "large";
    peaks["verify " + size] = peak_mib({"verify", q8.string(), "--against", model->string()});
    peaks["diff " + size] = peak_mib({"diff", q8.string(), model->string()}, 1);
    fs::remove(q8);
  }
  for (const char* command : {"verify", "diff"}) {
    const long small = peaks[std::string(command) + " small"], large = peaks[std::string(command) + " large"];
    BOOST_TEST_MESSAGE(command << ": peak RSS " << small << " MiB on 304 MiB, " << large << " MiB on 544 MiB");
    BOOST_CHECK_LT(large, 2 * 16 + kFixedOverheadMiB);
    BOOST_CHECK_MESSAGE(large <= small + kGrowthMarginMiB,
                        command << ": peak grew from " << small << " MiB to " << large << " MiB with the model size");
  }
}

// A compressed input is decoded as it is read and a compressed output compressed as it is
// written: the peak is the plain conversion's plus the decoded header prefix (32 MiB, see
// kCompressedHeadLimit) and zstd's window, never the model.
BOOST_AUTO_TEST_CASE(zstd_inputs_and_outputs_stay_under_the_budget) {
  qf_test::TempDir tmp;
  const long budget_mib = 64, head_mib = 32, zstd_window_mib = 16;
  const auto packed = tmp / "large.gguf.zst";
  BOOST_REQUIRE_EQUAL(peak_mib({"convert", "-q", "--compress", "zstd:1", models().large.string(), packed.string()}) > 0,
                      true);
  const long from_packed = peak_mib({"convert", "-q", "--memory-limit", mib(budget_mib), "--type", "q8_0",
                                     packed.string(), (tmp / "out.gguf").string()});
  const long to_packed = peak_mib({"convert", "-q", "--memory-limit", mib(budget_mib), "--type", "q8_0",
                                   models().large.string(), (tmp / "out2.gguf.zst").string()});
  BOOST_TEST_MESSAGE("544 MiB model, budget " << budget_mib << " MiB: peak " << from_packed << " MiB from .zst, "
                                              << to_packed << " MiB to .zst");
  BOOST_CHECK_LT(from_packed, budget_mib + kFixedOverheadMiB + head_mib + zstd_window_mib);
  BOOST_CHECK_LT(to_packed, budget_mib + kFixedOverheadMiB + zstd_window_mib);
}

// A Hugging Face checkpoint bound for GGUF is renamed, re-laid-out (Q/K rows) and quantized a
// tensor at a time: 8 layers of F16 (about 300 MiB, largest tensor 8 MiB) stay under the budget
// in one pass, as a GGUF input does.
BOOST_AUTO_TEST_CASE(a_hugging_face_checkpoint_converts_within_the_budget) {
  qf_test::TempDir tmp;
  const qf_hf::Dims dims{.layers = 8, .hidden = 1024, .ffn = 4096, .heads = 16, .kv_heads = 4, .vocab = 8192};
  const fs::path dir = qf_hf::write_checkpoint(tmp / "hf", {.hf_class = "LlamaForCausalLM"}, dims, "F16", "F32");
  qf_hf::write_sentencepiece_tokenizer(dir, dims.vocab);
  const long quantized = peak_mib(
      {"quantize", "-q", "--memory-limit", mib(kLowBudgetMiB), dir.string(), (tmp / "q.gguf").string(), "Q8_0"});
  const long copied = peak_mib({"convert", "-q", "--memory-limit", mib(kLowBudgetMiB), "--type", "f16", dir.string(),
                                (tmp / "f16.gguf").string()});
  BOOST_TEST_MESSAGE("HF checkpoint of " << fs::file_size(dir / "model.safetensors") / (1 << 20) << " MiB, budget "
                                         << kLowBudgetMiB << " MiB: quantize peak " << quantized
                                         << " MiB, convert peak " << copied << " MiB");
  BOOST_CHECK_LT(quantized, kLowBudgetMiB + kFixedOverheadMiB);
  BOOST_CHECK_LT(copied, kLowBudgetMiB + kFixedOverheadMiB);
}
