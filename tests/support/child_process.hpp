// Running the CLI as a child process that a test can watch and interrupt: fault tests kill
// or starve a conversion only after proving, through /proc, that it is writing its output.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace qf_test {

struct Child {
  pid_t pid = -1;
  std::filesystem::path stderr_file;

  // Exit code, or 128 + signal like a shell.
  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string err() const {
    std::ifstream in(stderr_file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

// Starts the built CLI with `args`; stdout goes to /dev/null, stderr to `stderr_file`.
// `in_child` runs after fork, before exec (setrlimit, setuid, ...).
inline Child spawn_cli(const std::vector<std::string>& args, const std::filesystem::path& stderr_file,
                       const std::function<void()>& in_child = {}) {
  Child c;
  c.stderr_file = stderr_file;
  c.pid = ::fork();
  if (c.pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    const int err = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(err, 2);
    if (in_child) in_child();
    std::vector<char*> argv{const_cast<char*>(QF_CLI)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(QF_CLI, argv.data());
    ::_exit(127);
  }
  return c;
}

// The size of the regular file that `pid` has open inside `dir` (an O_TMPFILE inode shows
// as "DIR/#INODE (deleted)", a named temporary by its name), or nothing if none is open.
inline std::optional<uint64_t> open_file_size_in(pid_t pid, const std::filesystem::path& dir) {
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  const std::string prefix = std::filesystem::canonical(dir).string() + "/";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(fd_dir, ec), end; !ec && it != end; it.increment(ec)) {
    char link[4096];
    const ssize_t n = ::readlink(it->path().c_str(), link, sizeof link - 1);
    if (n <= 0) continue;
    if (std::string_view(link, static_cast<size_t>(n)).substr(0, prefix.size()) != prefix) continue;
    struct stat st {};
    if (::stat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) return static_cast<uint64_t>(st.st_size);
  }
  return std::nullopt;
}

// Polls until `pid` has a file open in `dir` holding at least `bytes` bytes and returns the
// size seen then, which proves a write is in progress; nothing if the child exits (or 60 s
// pass) first.
inline std::optional<uint64_t> wait_for_write_in_progress(pid_t pid, const std::filesystem::path& dir, uint64_t bytes) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto size = open_file_size_in(pid, dir); size && *size >= bytes) return size;
    siginfo_t info{};
    // WNOWAIT: leaves the exited child to Child::wait().
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return std::nullopt;
}

}  // namespace qf_test
