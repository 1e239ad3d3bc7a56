// `quantflow batch` when things go wrong (docs/build-farm.md, "Running"): a bad model fails its
// own tasks only; an output another process holds the lock of fails that task only; a batch
// killed mid-write leaves no file at the target and a valid manifest; --resume finishes each.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>

#include <chrono>
#include <thread>

#include "support/batch_farm.hpp"
#include "support/child_process.hpp"

namespace fs = std::filesystem;
using qf_batch::Farm;
using qf_batch::json;
using qf_batch::summary;
using qf_test::quote;

namespace {

using Names = std::vector<std::string>;

Names error_lines(const std::string& err) {
  Names lines;
  for (const auto& l : qf_batch::lines_of(err))
    if (l.starts_with("quantflow: error: ")) lines.push_back(l);
  return lines;
}

// Holds `.NAME.quantflow-lock` beside `output` as a running batch would.
struct HeldLock {
  int fd = -1;
  explicit HeldLock(const fs::path& lock) {
    fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    BOOST_REQUIRE(fd >= 0);
    BOOST_REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  }
  ~HeldLock() { release(); }
  void release() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// True once `pid` has a file of at least `bytes` open under `dir` (the output's temporary; the
// lock file beside it is empty), false if it exits or 60 s pass first.
bool writing_in(pid_t pid, const fs::path& dir, uint64_t bytes) {
  const std::string prefix = fs::canonical(dir).string() + "/";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string link = fs::read_symlink(it->path(), ec).string();
      struct stat st {};
      if (!ec && link.starts_with(prefix) && ::stat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          static_cast<uint64_t>(st.st_size) >= bytes)
        return true;
    }
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid)
      return false;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_bad_model_fails_its_tasks_only_and_resume_reruns_them) {
  Farm farm;
  const fs::path good = farm.synth("good.gguf", 1);
  const fs::path donor = farm.synth("donor.gguf", 2);
  const auto donor_bytes = qf_test::read_bytes(donor);
  const fs::path bad = farm.tmp / "bad.gguf";
  qf_test::write_bytes(bad, donor_bytes.data(), 100);  // a truncated GGUF
  farm.write("name: farm\noutput_dir: out\nmodels: [good.gguf, bad.gguf]\njobs: [{preset: Q8_0}, {type: q4_0}]\n");
  auto r = farm.batch();
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(qf_batch::summary_line(r.out) == summary(4, 2, 2, 0));
  BOOST_TEST(fs::exists(farm.out / "good-Q8_0.gguf"));
  BOOST_TEST(fs::exists(farm.out / "good-q4_0.gguf"));
  BOOST_TEST(!fs::exists(farm.out / "bad-Q8_0.gguf"));
  BOOST_TEST(!fs::exists(farm.out / "bad-q4_0.gguf"));
  // One error line per failed task, naming the task and the file.
  const Names errors = error_lines(r.err);
  BOOST_REQUIRE_EQUAL(errors.size(), 2u);
  BOOST_TEST(errors[0].starts_with("quantflow: error: bad/Q8_0: "));
  BOOST_TEST(errors[1].starts_with("quantflow: error: bad/q4_0: "));
  for (const auto& e : errors) BOOST_TEST(e.find(bad.string()) != std::string::npos, e);
  // The manifest: failed with that error; the others done.
  const json m = farm.manifest();
  for (const char* id : {"bad/Q8_0", "bad/q4_0"}) {
    const json t = qf_batch::task_entry(m, id);
    BOOST_TEST(t.at("status") == "failed");
    const std::string error = t.at("error");
    BOOST_TEST(error.find(bad.string()) != std::string::npos, error);
    BOOST_TEST(std::ranges::count(errors, "quantflow: error: " + std::string(id) + ": " + error) == 1);
    BOOST_TEST(!t.contains("outputs"));
  }
  BOOST_TEST(qf_batch::task_entry(m, "good/Q8_0").at("status") == "done");
  BOOST_TEST(qf_batch::task_entry(m, "good/q4_0").at("status") == "done");
  // status shows the failures and exits 1.
  auto status = qf_test::cli("batch status " + quote(farm.file));
  BOOST_TEST(status.exit_code == 1);
  BOOST_TEST(status.out.find("failed     bad/Q8_0  -> " + (farm.out / "bad-Q8_0.gguf").string() + "  (") !=
             std::string::npos);
  BOOST_TEST(status.out.find("4 tasks: 2 failed, 0 queued or running\n") != std::string::npos);

  // Fixed: --resume runs the two failed tasks only.
  auto plan = farm.batch("--dry-run");
  BOOST_TEST(qf_batch::dry_run_state(plan.out, "bad/Q8_0", farm.out / "bad-Q8_0.gguf").find("cannot run: ") == 0);
  qf_test::write_bytes(bad, donor_bytes.data(), donor_bytes.size());
  plan = farm.batch("--dry-run");
  BOOST_TEST(qf_batch::dry_run_state(plan.out, "bad/Q8_0", farm.out / "bad-Q8_0.gguf")
                 .starts_with("will run (last run failed)"));
  const auto before = farm.mtimes({"good-Q8_0.gguf", "good-q4_0.gguf"});
  auto resumed = farm.batch("--resume");
  BOOST_REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  BOOST_TEST(qf_batch::summary_line(resumed.out) == summary(2, 2, 0, 2));
  BOOST_TEST(farm.mtimes({"good-Q8_0.gguf", "good-q4_0.gguf"}) == before);
  BOOST_TEST(qf_batch::task_entry(farm.manifest(), "bad/Q8_0").at("status") == "done");
  BOOST_TEST(!qf_batch::task_entry(farm.manifest(), "bad/Q8_0").contains("error"));
}

BOOST_AUTO_TEST_CASE(a_locked_output_fails_that_task_only_until_released) {
  Farm farm;
  farm.synth("a.gguf", 1);
  farm.synth("b.gguf", 2);
  farm.write("name: farm\noutput_dir: out\nmodels: [a.gguf, b.gguf]\njobs: [{preset: Q8_0}]\n");
  fs::create_directories(farm.out);
  const fs::path target = farm.out / "a-Q8_0.gguf";
  const fs::path lock_file = farm.out / ".a-Q8_0.gguf.quantflow-lock";
  HeldLock lock(lock_file);
  auto r = farm.batch();
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(qf_batch::summary_line(r.out) == summary(2, 1, 1, 0));
  const std::string error =
      "another quantflow process is writing " + target.string() + " (it holds " + lock_file.string() + ")";
  BOOST_TEST(error_lines(r.err) == Names{"quantflow: error: a/Q8_0: " + error}, boost::test_tools::per_element());
  BOOST_TEST(!fs::exists(target));
  BOOST_TEST(fs::exists(farm.out / "b-Q8_0.gguf"));
  BOOST_TEST(!fs::exists(farm.out / ".b-Q8_0.gguf.quantflow-lock"));  // removed after its task
  const json t = qf_batch::task_entry(farm.manifest(), "a/Q8_0");
  BOOST_TEST(t.at("status") == "failed");
  BOOST_TEST(t.at("error") == error);

  // --json: the summary names the failed task with its error.
  auto as_json = farm.batch("--json");
  BOOST_TEST(as_json.exit_code == 1);
  const auto events = qf_batch::lines_of(as_json.out);
  BOOST_REQUIRE_EQUAL(events.size(), 2u);
  const json failed = json::parse(events[0]);
  BOOST_TEST(failed.at("event") == "task");
  BOOST_TEST(failed.at("task").at("status") == "failed");
  BOOST_TEST(failed.at("task").at("error") == error);
  BOOST_TEST(json::parse(events[1]) == json({{"event", "summary"},
                                             {"ran", 1},
                                             {"done", 0},
                                             {"failed", json::array({{{"id", "a/Q8_0"}, {"error", error}}})},
                                             {"up_to_date", 1}}));

  lock.release();
  auto again = farm.batch();
  BOOST_REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  BOOST_TEST(qf_batch::summary_line(again.out) == summary(1, 1, 0, 1));
  BOOST_TEST(fs::exists(target));
  BOOST_TEST(!fs::exists(lock_file));
  BOOST_TEST(qf_test::listing(farm.out) ==
                 (Names{".quantflow-batch-farm", "a-Q8_0.gguf", "b-Q8_0.gguf", "farm.manifest.json"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(kill_9_mid_task_leaves_no_target_a_valid_manifest_and_resume_finishes) {
  Farm farm;
  // 176 MiB of F32: Q4_K_M with one thread takes seconds (~3 s of CPU).
  farm.synth("big.gguf", 3, "--layers 4 --hidden 1024 --ffn 2048 --vocab 4096");
  farm.write("name: farm\noutput_dir: out\nmodels: [big.gguf]\njobs: [{preset: Q4_K_M}]\nthreads: 1\n");
  const fs::path target = farm.out / "big-Q4_K_M.gguf";
  auto child = qf_test::spawn_cli({"batch", farm.file.string()}, farm.tmp / "batch.err");
  // Wait for the manifest to say "running", then for the output's temporary to hold data.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool running = false;
  while (!running && std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(farm.out / "farm.manifest.json");
    const json m = in ? json::parse(in, nullptr, false) : json();
    if (m.is_object() && m.contains("tasks"))
      for (const auto& t : m["tasks"]) running = running || t.value("status", "") == "running";
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  BOOST_REQUIRE_MESSAGE(running, "the manifest never showed the task running");
  BOOST_REQUIRE_MESSAGE(writing_in(child.pid, farm.out, 1 << 20),
                        "the batch finished before it could be killed; stderr: " << child.err());
  ::kill(child.pid, SIGKILL);
  BOOST_TEST(child.wait() == 128 + SIGKILL);

  BOOST_TEST(!fs::exists(target));
  // Nothing but the state folder, the manifest and the dead task's lock file.
  BOOST_TEST(qf_test::listing(farm.out) ==
                 (Names{".big-Q4_K_M.gguf.quantflow-lock", ".quantflow-batch-farm", "farm.manifest.json"}),
             boost::test_tools::per_element());
  const json m = farm.manifest();
  BOOST_TEST(qf_batch::task_entry(m, "big/Q4_K_M").at("status") == "running");

  auto resumed = farm.batch("--resume");
  BOOST_REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  BOOST_TEST(qf_batch::summary_line(resumed.out) == summary(1, 1, 0, 0));
  const json done = qf_batch::task_entry(farm.manifest(), "big/Q4_K_M");
  BOOST_TEST(done.at("status") == "done");
  BOOST_TEST(done.at("outputs")[0].at("sha256") == qf_batch::sha256sum(target));
  BOOST_TEST(qf_test::listing(farm.out) == (Names{".quantflow-batch-farm", "big-Q4_K_M.gguf", "farm.manifest.json"}),
             boost::test_tools::per_element());
}
