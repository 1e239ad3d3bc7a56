// Row-scaled encodings (int8_channel: NAME i8 + NAME_scale f32) chosen by recipe rules, by
// presets' companions and by --type: every path writes the pair, and reports count each
// source tensor once.
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::listing;
using qf_test::quote;
using qf_test::tensors_of;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

fs::path synth(const qf_test::TempDir& dir) {
  return qf_test::synth_model(dir / "m.gguf", "--layers 2 --hidden 256 --ffn 512 --vocab 512");
}

}  // namespace

// Used to die of SIGSEGV (a job index computed from pointers into two different job arrays)
// and leave a temporary file behind.
BOOST_AUTO_TEST_CASE(a_recipe_rule_can_choose_a_row_scaled_encoding_for_every_container) {
  qf_test::TempDir tmp;
  const auto model = synth(tmp);
  for (const std::string extension : {"safetensors", "gguf"}) {
    const fs::path out = tmp / ("rule-i8." + extension);
    const fs::path recipe = tmp / ("rule-" + extension + ".yaml");
    qf_test::write_text(recipe,
                        "inputs: m.gguf\noutput:\n  path: " + out.filename().string() +
                            "\ntensors:\n  - glob: \"blk.*.ffn_*.weight\"\n    dims: 2\n    type: int8_channel\n");
    auto r = cli("run -q " + quote(recipe));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, extension << ": exit " << r.exit_code << " " << r.err);
    const auto tensors = tensors_of(out);
    BOOST_CHECK_EQUAL(tensors.size(), 21u + 6u);  // 6 ffn matrices gain a _scale companion
    BOOST_CHECK_EQUAL(tensors.at("blk.1.ffn_down.weight").type, "i8");
    BOOST_CHECK_EQUAL(tensors.at("blk.1.ffn_down.weight_scale").type, "f32");
    BOOST_CHECK_EQUAL(tensors.at("blk.1.ffn_down.weight_scale").bytes.size(), 256u * 4u);  // one f32 per row
    BOOST_CHECK_EQUAL(tensors.at("blk.1.attn_q.weight").type, "f32");
    // The same bytes as the --type path, which never crashed.
    const fs::path direct = tmp / ("direct." + extension);
    BOOST_REQUIRE_EQUAL(cli("convert -q --type int8_channel " + quote(model) + " " + quote(direct)).exit_code, 0);
    BOOST_CHECK(tensors.at("blk.1.ffn_down.weight") == tensors_of(direct).at("blk.1.ffn_down.weight"));
    BOOST_CHECK(tensors.at("blk.1.ffn_down.weight_scale") == tensors_of(direct).at("blk.1.ffn_down.weight_scale"));
  }
  for (const auto& name : listing(tmp.path)) BOOST_CHECK_MESSAGE(name.find("quantflow-tmp") == std::string::npos, name);
}

// The report used to count each weight's source bytes twice (once per weight, once per _scale).
BOOST_AUTO_TEST_CASE(reports_count_a_row_scaled_pair_as_one_source_tensor) {
  qf_test::TempDir tmp;
  const auto model = synth(tmp);
  auto r = cli("convert -q --type int8_channel --report - " + quote(model) + " " + quote(tmp / "o.safetensors"));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const json report = json::parse(r.out);
  const uint64_t model_bytes = fs::file_size(model);  // F32 tensor data plus a header of a few KiB
  uint64_t source = 0, weights = 0;
  for (const auto& t : report["tensors"]) {
    source += t["source_bytes"].get<uint64_t>();
    if (t["name"].get<std::string>().ends_with("_scale")) BOOST_CHECK_EQUAL(t["source_bytes"].get<uint64_t>(), 0u);
    weights += t["target_type"] == "i8";
  }
  BOOST_CHECK_EQUAL(report["totals"]["source_bytes"].get<uint64_t>(), source);
  BOOST_CHECK_LT(source, model_bytes);  // every source byte once: less than the file, not twice the weights
  BOOST_CHECK_GT(source, model_bytes - 64 * 1024);
  BOOST_CHECK_EQUAL(weights, 16u);

  auto text = cli("convert --type int8_channel " + quote(model) + " " + quote(tmp / "o2.safetensors"));
  BOOST_REQUIRE_EQUAL(text.exit_code, 0);
  BOOST_CHECK_MESSAGE(text.out.find(": 37 tensors (16 re-encoded)") != std::string::npos, text.out);

  const fs::path recipe = tmp / "r.yaml";
  qf_test::write_text(recipe, "inputs: m.gguf\noutput:\n  path: r.safetensors\ndefault_type: int8_channel\n");
  auto run = cli("run --json " + quote(recipe));
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  const size_t last_line = run.out.rfind('\n', run.out.size() - 2);
  const json done = json::parse(run.out.substr(last_line == std::string::npos ? 0 : last_line + 1));
  BOOST_CHECK_EQUAL(done["event"], "done");
  // Recipes protect token_embd and output: 14 matrices are re-encoded, each written as a pair.
  BOOST_CHECK_EQUAL(done["reencoded"].get<int>(), 14);
  BOOST_CHECK_EQUAL(done["tensors"].get<int>(), 21 + 14);
  BOOST_CHECK_EQUAL(done["report"]["totals"]["source_bytes"], report["totals"]["source_bytes"]);
}
