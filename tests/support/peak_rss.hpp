// Runs a command and reports its peak resident set size, from the kernel's own accounting
// (wait4's rusage), so memory tests measure the real process, not an estimate.
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace qf_test {

struct PeakRss {
  int exit_code = -1;
  long max_rss_kib = 0;
};

inline PeakRss run_measuring_rss(const std::vector<std::string>& argv) {
  PeakRss result;
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The measured command's output is not the test's: only its exit code and peak matter.
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDOUT_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (::wait4(pid, &status, 0, &usage) == pid) {
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.max_rss_kib = usage.ru_maxrss;
  }
  return result;
}

}  // namespace qf_test
