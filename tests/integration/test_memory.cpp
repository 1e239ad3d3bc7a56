// Peak memory follows the budget and the largest tensor, never the model size.
#include "support/peak_rss.hpp"
#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::quote;

namespace {

// The executable, its libraries and plugins, TBB's threads and the write buffer.
constexpr long kFixedOverheadMiB = 80;

}  // namespace

BOOST_AUTO_TEST_CASE(peak_rss_stays_under_the_budget_for_a_model_many_times_larger) {
  qf_test::TempDir tmp;
  const auto model = tmp / "big.gguf";
  // 544 MiB of F32; the largest tensor (ffn, 4096 x 1024) is 16 MiB.
  auto made = cli("synth " + quote(model) + " --layers 8 --hidden 1024 --ffn 4096 --vocab 8192");
  BOOST_REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  const long budget_mib = 64;
  const std::string limit = std::to_string(budget_mib) + "M";
  for (const char* type : {"q8_0", "q4_k", ""}) {
    const auto out = tmp / (std::string("out-") + (*type ? type : "copy") + ".gguf");
    std::vector<std::string> argv = {QF_CLI, "convert", "-q", "--memory-limit", limit};
    if (*type) argv.insert(argv.end(), {"--type", type});
    argv.insert(argv.end(), {model.string(), out.string()});
    const auto r = qf_test::run_measuring_rss(argv);
    BOOST_REQUIRE_EQUAL(r.exit_code, 0);
    const long peak_mib = r.max_rss_kib / 1024;
    BOOST_TEST_MESSAGE((*type ? type : "copy")
                       << ": peak RSS " << peak_mib << " MiB for a 544 MiB model, budget " << budget_mib << " MiB");
    BOOST_CHECK_LT(peak_mib, budget_mib + kFixedOverheadMiB);
    std::filesystem::remove(out);
  }
}
