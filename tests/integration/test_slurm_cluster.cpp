// The Slurm test harness (tests/support/slurm/cluster.sh) and the client wrapper
// (framework/src/batch/slurm_client) against a real single-host cluster: array jobs run, a
// task killed under Slurm is reported failed while the others finish, stop leaves no daemon.
#include <signal.h>

#include <chrono>
#include <thread>

#include "batch/slurm_client.hpp"
#include "support/slurm_cluster.hpp"
#include "support/test_support.hpp"

namespace batch = quantflow::batch;
namespace fs = std::filesystem;
using boost::unit_test::precondition;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string command_line(const fs::path& proc) {
  std::string cmdline = read_text(proc / "cmdline");
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  return cmdline;
}

// True when process `proc` holds a file under `dir` open (slurmstepd keeps slurmd's log).
bool holds_file_in(const fs::path& proc, const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(proc / "fd", ec), end; !ec && it != end; it.increment(ec)) {
    const auto target = fs::read_symlink(it->path(), ec);
    if (!ec && target.string().rfind(dir, 0) == 0) return true;
  }
  return false;
}

// Pids of live processes whose argv[0] is `name`.
std::vector<pid_t> pids_named(const std::string& name) {
  std::vector<pid_t> pids;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string cmdline = read_text(e.path() / "cmdline");
    if (cmdline.substr(0, cmdline.find('\0')) == name) pids.push_back(std::stoi(pid));
  }
  return pids;
}

// The job's task states once `done` holds for them, or the last seen after `seconds`.
template <typename Done>
std::map<size_t, std::string> poll_states(const std::string& job_id, int seconds, Done done) {
  std::map<size_t, std::string> states;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = batch::array_task_states(job_id);
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    states = *r;
    if (done(states)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return states;
}

bool all_finished(const std::map<size_t, std::string>& states) {
  return std::all_of(states.begin(), states.end(),
                     [](const auto& s) { return batch::task_state(s.second) == batch::TaskState::finished_or_gone; });
}

std::string describe(const std::map<size_t, std::string>& states) {
  std::string out;
  for (const auto& [id, state] : states) out += std::to_string(id) + "=" + state + " ";
  return out;
}

qf_test::SlurmCluster& cluster_for_test() {
  auto& cluster = qf_test::module_slurm_cluster();
  BOOST_REQUIRE_MESSAGE(cluster.start_error().empty(), cluster.start_error());
  BOOST_REQUIRE(cluster.up());
  cluster.export_env();
  return cluster;
}

}  // namespace

BOOST_AUTO_TEST_CASE(task_ids_compress_to_sbatch_array_lists) {
  BOOST_TEST(batch::compress_task_ids({0, 1, 2, 3, 5, 7}) == "0-3,5,7");
  BOOST_TEST(batch::compress_task_ids({7, 3, 3, 0, 1, 2, 5}) == "0-3,5,7");
  BOOST_TEST(batch::compress_task_ids({4}) == "4");
  BOOST_TEST(batch::compress_task_ids({8, 9, 11, 12}) == "8-9,11-12");
  BOOST_TEST(batch::compress_task_ids({}) == "");
}

BOOST_AUTO_TEST_CASE(sbatch_gets_every_resource_as_its_own_argument) {
  const batch::SlurmResources resources{.cpus_per_task = 2,
                                        .memory = "4G",
                                        .time = "01:00:00",
                                        .partition = "debug",
                                        .job_name = "quantize $(rm -rf /)",
                                        .extra_options = {"--nice=10", "--chdir=/a b"},
                                        .max_parallel = 3};
  const std::vector<std::string> expected{"--parsable",
                                          "--array=0-3,5,7%3",
                                          "--output=/l/%A_%a.log",
                                          "--error=/l/%A_%a.log",
                                          "--cpus-per-task=2",
                                          "--mem=4G",
                                          "--time=01:00:00",
                                          "--partition=debug",
                                          "--job-name=quantize $(rm -rf /)",
                                          "--nice=10",
                                          "--chdir=/a b",
                                          "/s/task.sh"};
  BOOST_TEST(batch::sbatch_arguments("/s/task.sh", {0, 1, 2, 3, 5, 7}, resources, "/l/%A_%a.log") == expected,
             boost::test_tools::per_element());
  const std::vector<std::string> minimal{"--parsable", "--array=1", "--output=o", "--error=o", "t.sh"};
  BOOST_TEST(batch::sbatch_arguments("t.sh", {1}, {}, "o") == minimal, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(squeue_lines_become_task_states) {
  auto states = batch::parse_task_states("0 COMPLETED\n3 RUNNING\n12 PENDING\nN/A RUNNING\n\n");
  BOOST_REQUIRE(states.ok());
  BOOST_TEST(describe(*states) == "0=COMPLETED 3=RUNNING 12=PENDING ");
  auto bad = batch::parse_task_states("7\n");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.status().message() == "squeue printed '7', not 'TASK_ID STATE'");
  BOOST_TEST((batch::task_state("PENDING") == batch::TaskState::pending));
  BOOST_TEST((batch::task_state("COMPLETING") == batch::TaskState::running));
  BOOST_TEST((batch::task_state("FAILED") == batch::TaskState::finished_or_gone));
  BOOST_TEST((batch::task_state("CANCELLED") == batch::TaskState::finished_or_gone));
}

BOOST_AUTO_TEST_CASE(array_tasks_run_and_a_killed_task_fails_alone, *precondition(qf_test::slurm_cluster_up())) {
  auto& cluster = cluster_for_test();
  BOOST_TEST(batch::slurm_client_available());
  const fs::path work = cluster.dir() / "work";
  fs::create_directories(work);
  const std::string marker = "qf-slurm-sleeper-" + std::to_string(::getpid());
  // Task 2 becomes a `sleep` named by the marker (exec: the task's own process, no orphan).
  qf_test::write_text(work / "task.sh",
                      "#!/bin/bash\n"
                      "echo \"task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_JOB_ID\"\n"
                      "[ \"$SLURM_ARRAY_TASK_ID\" = 2 ] && exec -a " +
                          marker + " sleep 30\n" + "echo \"$SLURM_ARRAY_TASK_ID\" > \"" + work.string() +
                          "/done.$SLURM_ARRAY_TASK_ID\"\n");
  auto job = batch::submit_array((work / "task.sh").string(), {0, 1, 2, 3}, {.job_name = "qf-array"},
                                 (work / "log-%A_%a.txt").string());
  BOOST_REQUIRE_MESSAGE(job.ok(), job.status().to_string());
  BOOST_TEST(job->find_first_not_of("0123456789") == std::string::npos);

  auto states = poll_states(*job, 60, [](const auto& s) { return s.count(2) && s.at(2) == "RUNNING"; });
  BOOST_REQUIRE_MESSAGE(states.count(2) && states.at(2) == "RUNNING", describe(states));
  BOOST_TEST((batch::task_state(states.at(2)) == batch::TaskState::running));

  std::vector<pid_t> sleepers;
  for (int i = 0; i < 100 && sleepers.empty(); ++i, std::this_thread::sleep_for(std::chrono::milliseconds(100)))
    sleepers = pids_named(marker);
  BOOST_REQUIRE_EQUAL(sleepers.size(), 1u);
  BOOST_REQUIRE_EQUAL(::kill(sleepers[0], SIGKILL), 0);

  // A task killed by a signal ends FAILED and stays listed so until MinJobAge; the others complete.
  states = poll_states(*job, 90, [](const auto& s) { return s.size() == 4 && all_finished(s); });
  BOOST_TEST(describe(states) == "0=COMPLETED 1=COMPLETED 2=FAILED 3=COMPLETED ");
  for (const std::string id : {"0", "1", "3"}) {
    BOOST_TEST(read_text(work / ("done." + id)) == id + "\n");
    BOOST_TEST(read_text(work / ("log-" + *job + "_" + id + ".txt")) == "task " + id + " of " + *job + "\n");
  }
  BOOST_TEST(!fs::exists(work / "done.2"));
}

BOOST_AUTO_TEST_CASE(cancelled_and_unknown_jobs, *precondition(qf_test::slurm_cluster_up())) {
  auto& cluster = cluster_for_test();
  const fs::path work = cluster.dir() / "cancel";
  fs::create_directories(work);
  qf_test::write_text(work / "task.sh", "#!/bin/bash\nsleep 60\n");
  auto job = batch::submit_array((work / "task.sh").string(), {4}, {}, (work / "log-%a.txt").string());
  BOOST_REQUIRE_MESSAGE(job.ok(), job.status().to_string());
  auto live = poll_states(*job, 60, [](const auto& s) { return s.count(4) && s.at(4) == "RUNNING"; });
  BOOST_REQUIRE_MESSAGE(live.count(4) && live.at(4) == "RUNNING", describe(live));
  const auto cancelled = batch::cancel(*job + "_4");
  BOOST_REQUIRE_MESSAGE(cancelled.ok(), cancelled.to_string());
  auto states = poll_states(*job, 30, all_finished);
  BOOST_TEST(describe(states) == "4=CANCELLED ");
  // Cancelling again, or a job slurmctld never knew, succeeds; an unknown job has no tasks.
  BOOST_TEST(batch::cancel(*job).ok());
  BOOST_TEST(batch::cancel("987654").ok());
  auto unknown = batch::array_task_states("987654");
  BOOST_REQUIRE_MESSAGE(unknown.ok(), unknown.status().to_string());
  BOOST_TEST(unknown->empty());
}

BOOST_AUTO_TEST_CASE(sbatch_errors_come_back_on_one_line, *precondition(qf_test::slurm_cluster_up())) {
  auto& cluster = cluster_for_test();
  const fs::path script = cluster.dir() / "never.sh";
  qf_test::write_text(script, "#!/bin/bash\ntrue\n");
  auto job = batch::submit_array(script.string(), {0}, {.partition = "nope"}, (cluster.dir() / "x").string());
  BOOST_REQUIRE(!job.ok());
  BOOST_TEST(job.status().message() ==
             "sbatch failed (exit status 1): sbatch: error: invalid partition specified: nope; "
             "sbatch: error: Batch job submission failed: Invalid partition name specified");
}

BOOST_AUTO_TEST_CASE(stop_leaves_no_daemon_of_the_cluster, *precondition(qf_test::slurm_cluster_up())) {
  auto& cluster = cluster_for_test();
  const std::string dir = cluster.dir().string() + "/";
  const auto stopped = cluster.stop();
  BOOST_TEST(stopped.exit_code == 0, stopped.err);
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = read_text(e.path() / "comm");
    if (name != "slurmctld\n" && name != "slurmd\n" && name != "slurmstepd\n" && name != "munged\n") continue;
    const std::string cmdline = command_line(e.path());
    const bool ours = cmdline.find(dir) != std::string::npos || holds_file_in(e.path(), dir);
    BOOST_TEST(!ours, "left running: " << e.path() << " " << name << cmdline);
  }
  qf_test::stop_module_slurm_cluster();
}
