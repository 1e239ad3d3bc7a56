// `quantflow batch` with the local executor (docs/build-farm.md): the models x jobs matrix and
// its output names, outputs byte-identical to the single conversions, the manifest, the
// incremental reruns and their --dry-run reasons, --json events and `batch status`.
#include <regex>
#include <set>

#include "support/batch_farm.hpp"

namespace fs = std::filesystem;
using qf_batch::Farm;
using qf_batch::json;
using qf_batch::summary;
using qf_test::cli;
using qf_test::quote;

namespace {

using Names = std::vector<std::string>;

// 2 models x 3 jobs: two llama-quantize presets and an inline recipe.
const char* kMatrix = R"(name: farm
output_dir: out
models: [a.gguf, {name: b, path: second.gguf}]
jobs:
  - preset: Q4_K_M
  - preset: Q8_0
  - {name: mix, recipe: {default_type: q5_0, tensors: [{glob: "*ffn_down*", type: q8_0}]}}
)";

const Names kMatrixOutputs = {"a-Q4_K_M.gguf", "a-Q8_0.gguf", "a-mix.gguf",
                              "b-Q4_K_M.gguf", "b-Q8_0.gguf", "b-mix.gguf"};

struct MatrixFarm : Farm {
  fs::path a = synth("a.gguf", 1), b = synth("second.gguf", 2);
  MatrixFarm() { write(kMatrix); }
};

// What `quantflow quantize` / `quantflow run` write for one model.
void expect_single_conversions_match(const Farm& farm, const std::string& model_name, const fs::path& model) {
  const fs::path ref = farm.tmp / ("ref-" + model_name);
  fs::create_directories(ref);
  for (const char* preset : {"Q4_K_M", "Q8_0"}) {
    const fs::path target = ref / (model_name + "-" + preset + ".gguf");
    auto r = cli("quantize -q " + quote(model) + " " + quote(target) + " " + preset);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_CHECK_MESSAGE(qf_test::read_bytes(target) == qf_test::read_bytes(farm.out / target.filename()),
                        target.filename() << " differs from quantflow quantize " << preset);
  }
  const fs::path recipe = ref / "mix.yaml";
  const fs::path target = ref / (model_name + "-mix.gguf");
  qf_test::write_text(recipe, "inputs: " + model.string() + "\noutput: " + target.string() +
                                  "\ndefault_type: q5_0\ntensors: [{glob: \"*ffn_down*\", type: q8_0}]\n");
  auto r = cli("run -q " + quote(recipe));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_CHECK_MESSAGE(qf_test::read_bytes(target) == qf_test::read_bytes(farm.out / target.filename()),
                      target.filename() << " differs from quantflow run of the same recipe");
}

}  // namespace

BOOST_AUTO_TEST_CASE(matrix_writes_every_model_job_pair_byte_identical_to_single_conversions) {
  MatrixFarm farm;
  auto r = farm.batch("--jobs 3");  // three at once: each still writes what it writes alone
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(qf_batch::summary_line(r.out) == summary(6, 6, 0, 0));
  Names expected = kMatrixOutputs;
  expected.insert(expected.end(), {".quantflow-batch-farm", "farm.manifest.json"});
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(qf_test::listing(farm.out) == expected, boost::test_tools::per_element());
  // One "done" line per task, naming its output.
  for (const char* id : {"a/Q4_K_M", "a/Q8_0", "a/mix", "b/Q4_K_M", "b/Q8_0", "b/mix"}) {
    const std::string prefix = std::string("done    ") + id + "  -> " + farm.out.string() + "/";
    BOOST_TEST(std::ranges::count_if(qf_batch::lines_of(r.out), [&](const auto& l) { return l.starts_with(prefix); }) ==
               1);
  }
  expect_single_conversions_match(farm, "a", farm.a);
  expect_single_conversions_match(farm, "b", farm.b);
}

BOOST_AUTO_TEST_CASE(manifest_records_every_task_with_hashes_recipe_plugins_and_key) {
  MatrixFarm farm;
  auto r = farm.batch();
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const json m = farm.manifest();
  BOOST_TEST(m.at("format") == "quantflow-batch-manifest");
  BOOST_TEST(m.at("version") == 1);
  BOOST_TEST(m.at("batch") == "farm");
  BOOST_TEST(m.at("batch_file") == farm.file.string());
  BOOST_TEST(!m.at("quantflow").get<std::string>().empty());
  const std::regex utc(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  BOOST_TEST(std::regex_match(m.at("updated").get<std::string>(), utc));
  BOOST_REQUIRE_EQUAL(m.at("tasks").size(), 6u);
  const std::map<std::string, fs::path> models = {{"a", farm.a}, {"b", farm.b}};
  const std::regex hex64("[0-9a-f]{64}");
  size_t index = 0;
  std::set<std::string> keys;
  for (const char* model : {"a", "b"}) {
    for (const char* job : {"Q4_K_M", "Q8_0", "mix"}) {
      const std::string id = std::string(model) + "/" + job;
      BOOST_TEST_CONTEXT(id) {
        const json t = qf_batch::task_entry(m, id);
        const fs::path output = farm.out / (std::string(model) + "-" + job + ".gguf");
        BOOST_TEST(t.at("index") == index++);
        BOOST_TEST(t.at("model") == model);
        BOOST_TEST(t.at("job") == job);
        BOOST_TEST(t.at("status") == "done");
        BOOST_TEST(t.at("output") == output.string());
        BOOST_TEST(t.at("executor") == "local");
        BOOST_TEST(std::regex_match(t.at("key").get<std::string>(), hex64));
        keys.insert(t.at("key").get<std::string>());
        BOOST_REQUIRE_EQUAL(t.at("outputs").size(), 1u);
        const json& o = t.at("outputs")[0];
        BOOST_TEST(o.at("path") == output.string());
        BOOST_TEST(o.at("sha256") == qf_batch::sha256sum(output));
        BOOST_TEST(o.at("bytes") == fs::file_size(output));
        BOOST_TEST(o.at("mtime_ns") == qf_batch::mtime_ns(output));
        const json& in = t.at("inputs");
        BOOST_REQUIRE_GE(in.size(), 1u);
        BOOST_TEST(in[0].at("role") == "model");
        BOOST_TEST(in[0].at("path") == models.at(model).string());
        BOOST_TEST(in[0].at("sha256") == qf_batch::sha256sum(models.at(model)));
        if (std::string(job) == "mix") {
          BOOST_TEST(in.size() == 1u);
        } else {  // the preset's file
          const fs::path preset = qf_test::repo_dir() / "configs" / "presets" / (std::string(job) + ".yaml");
          BOOST_REQUIRE_EQUAL(in.size(), 2u);
          BOOST_TEST(in[1] ==
                     json({{"role", "preset"}, {"path", preset.string()}, {"sha256", qf_batch::sha256sum(preset)}}));
        }
        const std::string recipe = t.at("recipe");
        BOOST_TEST(recipe.find(std::string(job) == "mix" ? "default_type: q5_0" : "preset: " + std::string(job)) !=
                   std::string::npos);
        BOOST_TEST(recipe.find(output.string()) != std::string::npos);
        BOOST_TEST(!t.at("plugins").empty());
        for (const auto& p : t.at("plugins"))
          BOOST_TEST((!p.at("name").get<std::string>().empty() && !p.at("version").get<std::string>().empty()));
        BOOST_TEST(t.at("estimated_bytes").get<uint64_t>() == fs::file_size(output));
        BOOST_TEST(t.at("peak_rss_bytes").get<uint64_t>() > 0u);
        BOOST_TEST(t.at("seconds").get<double>() >= 0.0);
        BOOST_TEST(std::regex_match(t.at("started").get<std::string>(), utc));
        BOOST_TEST(std::regex_match(t.at("finished").get<std::string>(), utc));
      }
    }
  }
  BOOST_TEST(keys.size() == 6u);  // every task has a key of its own
}

BOOST_AUTO_TEST_CASE(json_prints_plan_task_and_summary_events) {
  MatrixFarm farm;
  auto plan = farm.batch("--dry-run --json");
  BOOST_REQUIRE_MESSAGE(plan.exit_code == 0, plan.err);
  const auto plan_lines = qf_batch::lines_of(plan.out);
  BOOST_REQUIRE_EQUAL(plan_lines.size(), 6u);
  const json first = json::parse(plan_lines[0]);
  BOOST_TEST(first.at("event") == "plan");
  BOOST_TEST(first.at("id") == "a/Q4_K_M");
  BOOST_TEST(first.at("output") == (farm.out / "a-Q4_K_M.gguf").string());
  BOOST_TEST(first.at("state").get<std::string>().starts_with("will run (new)"));
  BOOST_TEST(!fs::exists(farm.out));  // a dry run writes nothing

  auto r = farm.batch("--json");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto lines = qf_batch::lines_of(r.out);
  BOOST_REQUIRE_EQUAL(lines.size(), 7u);
  const json manifest = farm.manifest();
  std::set<std::string> ids;
  for (size_t i = 0; i < 6; ++i) {
    const json e = json::parse(lines[i]);
    BOOST_TEST(e.at("event") == "task");
    const std::string id = e.at("task").at("id");
    ids.insert(id);
    BOOST_TEST(e.at("task") == qf_batch::task_entry(manifest, id));  // the task's manifest entry
  }
  BOOST_TEST(ids.size() == 6u);
  const json s = json::parse(lines[6]);
  BOOST_TEST(s == json::parse(R"({"event":"summary","ran":6,"done":6,"failed":[],"up_to_date":0})"));

  auto again = farm.batch("--json");
  BOOST_REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  BOOST_REQUIRE_EQUAL(qf_batch::lines_of(again.out).size(), 1u);
  BOOST_TEST(json::parse(again.out) ==
             json::parse(R"({"event":"summary","ran":0,"done":0,"failed":[],"up_to_date":6})"));
}

BOOST_AUTO_TEST_CASE(status_lists_what_the_manifest_records) {
  MatrixFarm farm;
  auto r = farm.batch();
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto s = cli("batch status " + quote(farm.file));
  BOOST_REQUIRE_MESSAGE(s.exit_code == 0, s.err);
  std::string expected = "manifest " + (farm.out / "farm.manifest.json").string() + "\n";
  for (const char* model : {"a", "b"})
    for (const char* job : {"Q4_K_M", "Q8_0", "mix"})
      expected += std::string("done       ") + model + "/" + job + "  -> " + farm.out.string() + "/" + model + "-" +
                  job + ".gguf\n";
  expected += "6 tasks: 0 failed, 0 queued or running\n";
  BOOST_TEST(s.out == expected);

  auto j = cli("batch status " + quote(farm.file) + " --json");
  BOOST_REQUIRE_MESSAGE(j.exit_code == 0, j.err);
  const json status = json::parse(j.out);
  BOOST_TEST(status.at("event") == "status");
  BOOST_TEST(status.at("manifest") == (farm.out / "farm.manifest.json").string());
  BOOST_TEST(status.at("tasks") == farm.manifest().at("tasks"));
}
