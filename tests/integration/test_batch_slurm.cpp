// `quantflow batch --executor slurm` on a real single-host Slurm cluster (Debian's slurmctld,
// slurmd and munge, started in a temporary folder by tests/support/slurm/cluster.sh): a batch
// of 12 tasks as one array, one running task killed, the failure reported with its log, then
// `--resume` resubmitting only that task; `--no-wait` with `batch status`; and the per-shard
// tasks of one split model. Skipped, with the reason, where the cluster cannot start.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/child_process.hpp"
#include "support/slurm_cluster.hpp"
#include "support/test_support.hpp"

using boost::unit_test::precondition;
using nlohmann::json;
using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;

namespace {

json read_manifest(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return json::object();
  return json::parse(in, nullptr, false);
}

const json* task_entry(const json& manifest, const std::string& id) {
  if (!manifest.is_object() || !manifest.contains("tasks")) return nullptr;
  for (const auto& t : manifest["tasks"])
    if (t.value("id", "") == id) return &t;
  return nullptr;
}

// Processes whose command line holds every one of `parts`.
std::vector<pid_t> processes_with(const std::vector<std::string>& parts) {
  std::vector<pid_t> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), {});
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    bool all = !cmdline.empty();
    for (const auto& p : parts) all = all && cmdline.find(p) != std::string::npos;
    if (all && std::stoi(name) != ::getpid()) found.push_back(std::stoi(name));
  }
  return found;
}

// Polls `manifest` until `done` holds for it (at most `seconds`).
template <class Pred>
bool wait_for_manifest(const fs::path& manifest, Pred done, int seconds = 120) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done(read_manifest(manifest))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

struct Farm {
  qf_test::TempDir dir;
  fs::path batch_file = dir / "farm.yaml";
  fs::path manifest = dir / "out" / "farm.manifest.json";
  Farm() {
    auto& cluster = qf_test::module_slurm_cluster();
    BOOST_REQUIRE_MESSAGE(cluster.start_error().empty(), cluster.start_error());
    cluster.export_env();
    qf_test::synth_model(dir / "a.gguf", "--layers 2 --hidden 256 --ffn 512 --vocab 512 --seed 1");
    qf_test::synth_model(dir / "b.gguf", "--layers 2 --hidden 256 --ffn 512 --vocab 512 --seed 2");
    // Big enough that its Q4_K_M task runs for seconds on one thread: the one the test kills.
    qf_test::synth_model(dir / "big.gguf", "--layers 6 --hidden 1024 --ffn 2816 --vocab 8192 --seed 3");
    qf_test::write_text(batch_file,
                        "output_dir: out\n"
                        "models: [a.gguf, b.gguf, big.gguf]\n"
                        "jobs:\n"
                        "  - preset: Q4_K_M\n"
                        "  - preset: Q8_0\n"
                        "  - preset: Q4_0\n"
                        "  - preset: Q5_K_M\n"
                        "threads: 1\n"
                        "slurm: {cpus: 1, time: \"00:10:00\", max_parallel: 2}\n");
  }
  // The output quantize writes for the same model and preset, for byte comparison.
  std::vector<uint8_t> reference(const std::string& model, const std::string& preset) {
    const fs::path out = dir / ("ref-" + model + "-" + preset + ".gguf");
    auto r = cli("quantize -q " + quote(dir / (model + ".gguf")) + " " + quote(out) + " " + preset);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return qf_test::read_bytes(out);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_killed_array_task_fails_alone_and_resume_reruns_only_it,
                     *precondition(qf_test::slurm_cluster_up())) {
  Farm farm;
  const fs::path out = farm.dir / "out";
  qf_test::Child batch =
      qf_test::spawn_cli({"batch", farm.batch_file.string(), "--executor", "slurm"}, farm.dir / "batch.err");
  // big/Q4_K_M is task 8: wait until its array task records itself as running, then kill it.
  BOOST_REQUIRE(wait_for_manifest(farm.manifest, [](const json& m) {
    const json* t = task_entry(m, "big/Q4_K_M");
    return t != nullptr && t->value("status", "") == "running";
  }));
  const auto victims = processes_with({farm.batch_file.string(), "--run-task 8 "});
  BOOST_REQUIRE_EQUAL(victims.size(), 1u);
  BOOST_REQUIRE_EQUAL(::kill(victims.front(), SIGKILL), 0);
  BOOST_CHECK_EQUAL(batch.wait(), 1);
  const std::string err = batch.err();
  BOOST_CHECK_MESSAGE(err.find("quantflow: error: big/Q4_K_M: Slurm task ") != std::string::npos, err);
  BOOST_CHECK_MESSAGE(err.find("ended without a result") != std::string::npos, err);

  const json manifest = read_manifest(farm.manifest);
  size_t done = 0;
  for (const auto& t : manifest["tasks"]) done += t.value("status", "") == "done" ? 1 : 0;
  BOOST_CHECK_EQUAL(manifest["tasks"].size(), 12u);
  BOOST_CHECK_EQUAL(done, 11u);
  const json* killed = task_entry(manifest, "big/Q4_K_M");
  BOOST_REQUIRE(killed != nullptr);
  BOOST_CHECK_EQUAL(killed->value("status", ""), "failed");
  BOOST_CHECK(!fs::exists(out / "big-Q4_K_M.gguf"));  // nothing at the target of a killed task
  for (const auto& t : manifest["tasks"]) BOOST_CHECK_EQUAL(t.value("executor", ""), "slurm");

  // --resume submits one task: the killed one.
  auto resumed = cli("batch " + quote(farm.batch_file) + " --executor slurm --resume");
  BOOST_REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  BOOST_CHECK_NE(resumed.out.find("submitted 1 tasks as Slurm job "), std::string::npos);
  BOOST_CHECK_NE(resumed.out.find("batch: 1 ran, 1 done, 0 failed, 11 up to date"), std::string::npos);
  for (const std::string model : {"a", "b", "big"})
    for (const std::string preset : {"Q4_K_M", "Q8_0", "Q4_0", "Q5_K_M"})
      BOOST_CHECK_MESSAGE(qf_test::read_bytes(out / (model + "-" + preset + ".gguf")) == farm.reference(model, preset),
                          model << "-" << preset);
  // And a plain re-run finds everything up to date without submitting anything.
  auto again = cli("batch " + quote(farm.batch_file) + " --executor slurm");
  BOOST_CHECK_EQUAL(again.exit_code, 0);
  BOOST_CHECK_NE(again.out.find("batch: 0 ran, 0 done, 0 failed, 12 up to date"), std::string::npos);
  BOOST_CHECK_EQUAL(again.out.find("submitted"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_wait_returns_at_once_and_status_follows, *precondition(qf_test::slurm_cluster_up())) {
  Farm farm;
  auto submitted = cli("batch " + quote(farm.batch_file) + " --executor slurm --no-wait --json");
  BOOST_REQUIRE_MESSAGE(submitted.exit_code == 0, submitted.err);
  const json event = json::parse(submitted.out.substr(0, submitted.out.find('\n')));
  BOOST_CHECK_EQUAL(event["event"], "submitted");
  BOOST_CHECK_EQUAL(event["tasks"], 12);
  const std::string job = event["slurm_job"];
  BOOST_REQUIRE(wait_for_manifest(
      farm.manifest,
      [](const json& m) {
        size_t done = 0;
        for (const auto& t : m.value("tasks", json::array())) done += t.value("status", "") == "done" ? 1 : 0;
        return done == 12;
      },
      300));
  auto status = cli("batch status " + quote(farm.batch_file));
  BOOST_CHECK_EQUAL(status.exit_code, 0);
  BOOST_CHECK_NE(status.out.find("12 tasks: 0 failed, 0 queued or running"), std::string::npos);
  const json manifest = read_manifest(farm.manifest);
  for (const auto& t : manifest["tasks"]) {
    BOOST_CHECK_EQUAL(t.value("slurm_job", ""), job);
    BOOST_CHECK(fs::exists(t.value("log", "")));
  }
}

BOOST_AUTO_TEST_CASE(one_model_split_across_array_tasks, *precondition(qf_test::slurm_cluster_up())) {
  Farm farm;
  qf_test::write_text(farm.batch_file,
                      "output_dir: out\n"
                      "models: [big.gguf]\n"
                      "jobs:\n"
                      "  - name: q8\n"
                      "    recipe: {default_type: q8_0, output: {split_max_tensors: 12}}\n"
                      "    shard_tasks: true\n"
                      "slurm: {cpus: 1}\n");
  auto r = cli("batch " + quote(farm.batch_file) + " --executor slurm");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  qf_test::write_text(farm.dir / "single.yaml",
                      "inputs: big.gguf\noutput: {path: single/big-q8.gguf, split_max_tensors: 12}\n"
                      "default_type: q8_0\n");
  fs::create_directories(farm.dir / "single");
  auto single = cli("run -q " + quote(farm.dir / "single.yaml"));
  BOOST_REQUIRE_MESSAGE(single.exit_code == 0, single.err);
  const auto shards = qf_test::listing(farm.dir / "single");
  BOOST_REQUIRE_GE(shards.size(), 3u);
  BOOST_CHECK_NE(r.out.find(fmt::format("batch: {} ran, {} done, 0 failed", shards.size(), shards.size())),
                 std::string::npos);
  for (const auto& name : shards)
    BOOST_CHECK_MESSAGE(qf_test::read_bytes(farm.dir / "out" / name) == qf_test::read_bytes(farm.dir / "single" / name),
                        name);
}

BOOST_AUTO_TEST_CASE(the_cluster_stops_without_leaving_a_daemon, *precondition(qf_test::slurm_cluster_up())) {
  const std::string dir = qf_test::module_slurm_cluster().dir().string();
  auto stopped = qf_test::module_slurm_cluster().stop();
  BOOST_CHECK_EQUAL(stopped.exit_code, 0);
  for (const char* daemon : {"slurmctld", "slurmd", "munged"})
    BOOST_CHECK_MESSAGE(processes_with({daemon, dir}).empty(), daemon << " of " << dir << " still runs");
}
