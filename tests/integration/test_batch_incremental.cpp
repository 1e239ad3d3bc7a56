// `quantflow batch` reruns only what changed (docs/build-farm.md, "Running"): a changed input,
// a touched input, an edited recipe file, a deleted or altered output; --dry-run names the
// reason before each rerun, and the outputs not rerun keep their bytes and modification time.
#include <fstream>

#include "support/batch_farm.hpp"
#include "support/imatrix_file.hpp"

namespace fs = std::filesystem;
using qf_batch::Farm;
using qf_batch::summary;

namespace {

using Names = std::vector<std::string>;

// 2 models x 2 jobs: a preset and a recipe file.
struct IncrementalFarm : Farm {
  fs::path a = synth("a.gguf", 1), b = synth("b.gguf", 2);
  fs::path recipe = tmp / "recipes" / "mine.yaml";
  const Names outputs = {"a-Q8_0.gguf", "a-mine.gguf", "b-Q8_0.gguf", "b-mine.gguf"};
  IncrementalFarm() {
    fs::create_directories(recipe.parent_path());
    qf_test::write_text(recipe, "inputs: ignored.gguf\noutput: ignored-too.gguf\ndefault_type: q4_0\n");
    write(
        "name: farm\noutput_dir: out\nmodels: [a.gguf, b.gguf]\njobs:\n  - preset: Q8_0\n"
        "  - recipe: recipes/mine.yaml\n");
  }
  std::map<std::string, int64_t> times() const { return mtimes(outputs); }
  // What --dry-run says of task `id`; the run that follows prints `expected` as its summary
  // and rewrites exactly `rerun`.
  void expect_rerun(const std::map<std::string, std::string>& states, const std::string& expected, const Names& rerun) {
    auto plan = batch("--dry-run");
    BOOST_REQUIRE_MESSAGE(plan.exit_code == 0, plan.err);
    for (const auto& [id, state] : states) {
      const std::string name = id.substr(0, id.find('/')) + "-" + id.substr(id.find('/') + 1) + ".gguf";
      BOOST_TEST_CONTEXT(id << " in\n" << plan.out) {
        BOOST_TEST(qf_batch::dry_run_state(plan.out, id, out / name).starts_with(state));
      }
    }
    const auto before = times();
    auto r = batch();
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(qf_batch::summary_line(r.out) == expected);
    BOOST_TEST(qf_batch::rewritten(before, times()) == rerun, boost::test_tools::per_element());
    // Whatever ran, the manifest describes the files as they are now.
    const auto m = manifest();
    for (const auto& t : m.at("tasks")) {
      BOOST_TEST(t.at("status") == "done");
      const auto& o = t.at("outputs").at(0);
      BOOST_TEST(o.at("sha256") == qf_batch::sha256sum(o.at("path").get<std::string>()));
    }
  }
};

const std::map<std::string, std::string> kAllUpToDate = {
    {"a/Q8_0", "up to date"}, {"a/mine", "up to date"}, {"b/Q8_0", "up to date"}, {"b/mine", "up to date"}};

std::map<std::string, std::string> with(std::map<std::string, std::string> states,
                                        const std::map<std::string, std::string>& changes) {
  for (const auto& [id, state] : changes) states[id] = state;
  return states;
}

void flip_byte(const fs::path& file, uint64_t offset) {
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  io.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  io.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  io.seekp(static_cast<std::streamoff>(offset));
  io.write(&c, 1);
  BOOST_REQUIRE(io.good());
}

}  // namespace

BOOST_AUTO_TEST_CASE(second_run_is_up_to_date_and_writes_nothing) {
  IncrementalFarm farm;
  auto first = farm.batch();
  BOOST_REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  BOOST_TEST(qf_batch::summary_line(first.out) == summary(4, 4, 0, 0));
  const auto manifest_before = qf_test::read_bytes(farm.out / "farm.manifest.json");
  farm.expect_rerun(kAllUpToDate, summary(0, 0, 0, 4), {});
  BOOST_TEST(qf_test::read_bytes(farm.out / "farm.manifest.json") == manifest_before);
}

BOOST_AUTO_TEST_CASE(changed_input_reruns_only_that_models_tasks_and_touch_reruns_nothing) {
  IncrementalFarm farm;
  BOOST_REQUIRE_EQUAL(farm.batch().exit_code, 0);
  const std::string old_key = qf_batch::task_entry(farm.manifest(), "a/Q8_0").at("key");
  farm.synth("a.gguf", 7);  // same shape and size, other weights
  const std::string changed = "will run (inputs, recipe or plugins changed)";
  farm.expect_rerun(with(kAllUpToDate, {{"a/Q8_0", changed}, {"a/mine", changed}}), summary(2, 2, 0, 2),
                    {"a-Q8_0.gguf", "a-mine.gguf"});
  const auto entry = qf_batch::task_entry(farm.manifest(), "a/Q8_0");
  BOOST_TEST(entry.at("key") != old_key);
  BOOST_TEST(entry.at("inputs")[0].at("sha256") == qf_batch::sha256sum(farm.a));

  // touch: a new modification time, the same content: no key changes.
  fs::last_write_time(farm.a, fs::last_write_time(farm.a) + std::chrono::seconds(5));
  fs::last_write_time(farm.b, fs::last_write_time(farm.b) + std::chrono::seconds(5));
  farm.expect_rerun(kAllUpToDate, summary(0, 0, 0, 4), {});
}

BOOST_AUTO_TEST_CASE(edited_recipe_file_reruns_only_its_job) {
  IncrementalFarm farm;
  BOOST_REQUIRE_EQUAL(farm.batch().exit_code, 0);
  const auto q4_0_bytes = fs::file_size(farm.out / "a-mine.gguf");
  qf_test::write_text(farm.recipe, "inputs: ignored.gguf\noutput: ignored-too.gguf\ndefault_type: q8_0\n");
  const std::string changed = "will run (inputs, recipe or plugins changed)";
  farm.expect_rerun(with(kAllUpToDate, {{"a/mine", changed}, {"b/mine", changed}}), summary(2, 2, 0, 2),
                    {"a-mine.gguf", "b-mine.gguf"});
  // q8_0 (34 bytes per 32 weights) replaced q4_0 (18 per 32).
  BOOST_TEST(fs::file_size(farm.out / "a-mine.gguf") > q4_0_bytes);
  BOOST_TEST(
      qf_batch::task_entry(farm.manifest(), "a/mine").at("recipe").get<std::string>().find("default_type: q8_0") !=
      std::string::npos);
}

BOOST_AUTO_TEST_CASE(deleted_output_reruns_only_that_task) {
  IncrementalFarm farm;
  BOOST_REQUIRE_EQUAL(farm.batch().exit_code, 0);
  const auto bytes = qf_test::read_bytes(farm.out / "b-mine.gguf");
  fs::remove(farm.out / "b-mine.gguf");
  farm.expect_rerun(
      with(kAllUpToDate, {{"b/mine", "will run (output missing: " + (farm.out / "b-mine.gguf").string() + ")"}}),
      summary(1, 1, 0, 3), {"b-mine.gguf"});
  BOOST_TEST(qf_test::read_bytes(farm.out / "b-mine.gguf") == bytes);
}

BOOST_AUTO_TEST_CASE(altered_output_reruns_only_that_task) {
  IncrementalFarm farm;
  BOOST_REQUIRE_EQUAL(farm.batch().exit_code, 0);
  const fs::path target = farm.out / "a-Q8_0.gguf";
  const auto bytes = qf_test::read_bytes(target);
  flip_byte(target, bytes.size() - 7);  // tensor data: same size, other content
  BOOST_REQUIRE(qf_test::read_bytes(target) != bytes);
  farm.expect_rerun(with(kAllUpToDate, {{"a/Q8_0", "will run (output altered: " + target.string() + ")"}}),
                    summary(1, 1, 0, 3), {"a-Q8_0.gguf"});
  BOOST_TEST(qf_test::read_bytes(target) == bytes);

  // A different size is an alteration too, whatever the time says.
  qf_test::write_text(target, "short");
  farm.expect_rerun(with(kAllUpToDate, {{"a/Q8_0", "will run (output altered: " + target.string() + ")"}}),
                    summary(1, 1, 0, 3), {"a-Q8_0.gguf"});
  BOOST_TEST(qf_test::read_bytes(target) == bytes);
}

BOOST_AUTO_TEST_CASE(force_reruns_everything_and_resume_nothing_done) {
  IncrementalFarm farm;
  BOOST_REQUIRE_EQUAL(farm.batch().exit_code, 0);
  auto plan = farm.batch("--dry-run --force");
  BOOST_REQUIRE_MESSAGE(plan.exit_code == 0, plan.err);
  BOOST_TEST(qf_batch::dry_run_state(plan.out, "a/Q8_0", farm.out / "a-Q8_0.gguf").starts_with("will run (--force)"));
  const auto before = farm.times();
  auto forced = farm.batch("--force");
  BOOST_REQUIRE_MESSAGE(forced.exit_code == 0, forced.err);
  BOOST_TEST(qf_batch::summary_line(forced.out) == summary(4, 4, 0, 0));
  BOOST_TEST(qf_batch::rewritten(before, farm.times()) == farm.outputs, boost::test_tools::per_element());

  // --resume trusts the manifest's "done" without looking at inputs: a changed model is not rerun.
  farm.synth("a.gguf", 9);
  auto resumed = farm.batch("--resume");
  BOOST_REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  BOOST_TEST(qf_batch::summary_line(resumed.out) == summary(0, 0, 0, 4));
}

BOOST_AUTO_TEST_CASE(changed_importance_matrix_reruns_only_the_jobs_reading_it) {
  Farm farm;
  const fs::path model = farm.synth("a.gguf", 1);
  const fs::path imatrix = farm.tmp / "a.dat";
  qf_test::write_imatrix_for(model, imatrix);
  farm.write(
      "name: farm\noutput_dir: out\nmodels: [a.gguf]\njobs:\n  - {name: plain, preset: Q4_K_M}\n"
      "  - {name: imat, preset: Q4_K_M, set: {imatrix: a.dat}}\n");
  auto r = farm.batch();
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto entry = qf_batch::task_entry(farm.manifest(), "a/imat");
  // model, imatrix, preset file
  BOOST_REQUIRE_EQUAL(entry.at("inputs").size(), 3u);
  BOOST_TEST(
      entry.at("inputs")[1] ==
      qf_batch::json({{"role", "imatrix"}, {"path", imatrix.string()}, {"sha256", qf_batch::sha256sum(imatrix)}}));
  BOOST_TEST(qf_batch::task_entry(farm.manifest(), "a/plain").at("inputs").size() == 2u);
  // The last weight's lowest byte (the file ends with it and the chunk count).
  auto bytes = qf_test::read_bytes(imatrix);
  bytes[bytes.size() - 8] ^= 1;
  qf_test::write_bytes(imatrix, bytes.data(), bytes.size());
  auto plan = farm.batch("--dry-run");
  BOOST_TEST(qf_batch::dry_run_state(plan.out, "a/imat", farm.out / "a-imat.gguf")
                 .starts_with("will run (inputs, recipe or plugins changed)"));
  BOOST_TEST(qf_batch::dry_run_state(plan.out, "a/plain", farm.out / "a-plain.gguf").starts_with("up to date"));
  const auto before = farm.mtimes({"a-plain.gguf", "a-imat.gguf"});
  auto again = farm.batch();
  BOOST_REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  BOOST_TEST(qf_batch::summary_line(again.out) == summary(1, 1, 0, 1));
  BOOST_TEST(qf_batch::rewritten(before, farm.mtimes({"a-plain.gguf", "a-imat.gguf"})) == Names{"a-imat.gguf"},
             boost::test_tools::per_element());
}
