// A throwaway single-host Slurm cluster for tests (tests/support/slurm/cluster.sh), started in
// a fresh folder by the constructor and stopped by stop() or the destructor. When the machine
// cannot run one (not root, packages not installable), skip_reason() says why.
//
// One cluster per test module, skipped with the reason when it cannot start:
//
//   BOOST_AUTO_TEST_CASE(x, *boost::unit_test::precondition(qf_test::slurm_cluster_up())) {
//     auto& cluster = qf_test::module_slurm_cluster();
//     BOOST_REQUIRE_MESSAGE(cluster.start_error().empty(), cluster.start_error());
//     cluster.export_env();  // SLURM_CONF for sbatch and the CLI run as child processes
#pragma once

#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>

#include "support/test_support.hpp"

namespace qf_test {

// cluster.sh's exit code when the environment cannot run Slurm (automake's "skipped").
inline constexpr int slurm_cluster_skipped = 77;

inline fs::path slurm_cluster_script() { return repo_dir() / "tests" / "support" / "slurm" / "cluster.sh"; }

class SlurmCluster {
 public:
  // Under /tmp, not the build tree: munge's and slurmstepd's Unix sockets live in the folder,
  // and a socket path may not exceed 107 bytes.
  SlurmCluster() {
    std::string pattern = (fs::temp_directory_path() / "qf-slurm-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      start_error_ = "mkdtemp " + pattern + " failed";
      return;
    }
    dir_ = pattern;
    const auto r = run("bash " + quote(slurm_cluster_script()) + " start " + quote(dir_));
    if (r.exit_code == slurm_cluster_skipped) {
      skip_reason_ = r.err.substr(0, r.err.find('\n'));
      return;
    }
    env_ = parse_exports(r.out);
    if (r.exit_code != 0 || env_.count("SLURM_CONF") != 1)
      start_error_ = "cluster.sh start exited " + std::to_string(r.exit_code) + ":\n" + r.out + r.err;
    else
      up_ = true;
  }
  ~SlurmCluster() {
    stop();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  // Empty when the cluster is up or failed; otherwise cluster.sh's one-line reason to skip.
  const std::string& skip_reason() const { return skip_reason_; }
  // Empty unless the harness itself is broken: cluster.sh's exit code, output and log tails.
  const std::string& start_error() const { return start_error_; }
  bool up() const { return up_; }
  // NAME -> value of what the Slurm client commands need (SLURM_CONF).
  const std::map<std::string, std::string>& env() const { return env_; }
  // The folder that holds the cluster's configuration, state and logs.
  const fs::path& dir() const { return dir_; }

  // Sets env() in this process, so that child processes (sbatch, the CLI) use this cluster.
  void export_env() const {
    for (const auto& [name, value] : env_) ::setenv(name.c_str(), value.c_str(), 1);
  }

  // Cancels every job and stops the daemons; a second call does nothing.
  CommandResult stop() {
    if (dir_.empty() || stopped_) return {.exit_code = 0, .out = {}, .err = {}};
    stopped_ = true;
    up_ = false;
    return run("bash " + quote(slurm_cluster_script()) + " stop " + quote(dir_));
  }

 private:
  // "export NAME=VALUE" lines -> NAME -> VALUE (cluster.sh's values have no blanks to quote).
  static std::map<std::string, std::string> parse_exports(const std::string& text) {
    std::map<std::string, std::string> env;
    std::istringstream in(text);
    std::string line;
    const std::string prefix = "export ";
    while (std::getline(in, line)) {
      const auto eq = line.find('=');
      if (line.rfind(prefix, 0) != 0 || eq == std::string::npos) continue;
      env[line.substr(prefix.size(), eq - prefix.size())] = line.substr(eq + 1);
    }
    return env;
  }

  fs::path dir_;
  bool up_ = false;
  bool stopped_ = false;
  std::string skip_reason_;
  std::string start_error_;
  std::map<std::string, std::string> env_;
};

// The test module's cluster, started on first use; stop_module_slurm_cluster() ends it (or
// the process's exit does).
inline std::unique_ptr<SlurmCluster>& module_slurm_cluster_slot() {
  static std::unique_ptr<SlurmCluster> cluster;
  return cluster;
}
inline SlurmCluster& module_slurm_cluster() {
  auto& slot = module_slurm_cluster_slot();
  if (!slot) slot = std::make_unique<SlurmCluster>();
  return *slot;
}
inline void stop_module_slurm_cluster() { module_slurm_cluster_slot().reset(); }

// Boost.Test precondition: starts the module's cluster; the test is reported as skipped, with
// cluster.sh's reason, when the machine cannot run one. A broken harness is not skipped: the
// test runs and fails on start_error().
struct slurm_cluster_up {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    const auto& cluster = module_slurm_cluster();
    boost::test_tools::assertion_result r(cluster.skip_reason().empty());
    if (!r) r.message() << "skipped: " << cluster.skip_reason();
    return r;
  }
};

}  // namespace qf_test
