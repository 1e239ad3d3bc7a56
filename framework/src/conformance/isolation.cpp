#include "conformance/isolation.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "core/plugin_guard.hpp"

namespace quantflow::conformance {

namespace {

Outcome run_guarded(const std::function<Outcome()>& body) {
  try {
    return body();
  } catch (...) {
    return fail("an exception escaped the plugin: " + core::current_exception_text());
  }
}

// The child's answer on the pipe: one verdict byte, then the reason.
void send(int fd, const Outcome& outcome) {
  std::string message(1, static_cast<char>(outcome.verdict));
  message += outcome.reason;
  const char* p = message.data();
  size_t left = message.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

// Reads until the child closes the pipe or the deadline passes; false on timeout.
bool receive(int fd, std::chrono::steady_clock::time_point deadline, std::string& out) {
  char buffer[4096];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return false;
    if (ready < 0) return true;  // the pipe is unusable: take what arrived
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    out.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace

Outcome run_isolated(const std::function<Outcome()>& body, std::chrono::seconds timeout) {
  int fds[2];
  if (::pipe(fds) != 0) return run_guarded(body);
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return run_guarded(body);
  }
  if (child == 0) {
    ::close(fds[0]);
    // A crashing plugin's own output (a sanitizer's report, abort's message) would interleave
    // with the report; its FAIL line says how it died.
    if (const int null = ::open("/dev/null", O_WRONLY); null >= 0) ::dup2(null, STDERR_FILENO);
    send(fds[1], run_guarded(body));
    ::close(fds[1]);
    ::_exit(0);  // no atexit handlers, no flushing of the parent's buffered output
  }
  ::close(fds[1]);
  std::string message;
  const bool finished = receive(fds[0], std::chrono::steady_clock::now() + timeout, message);
  ::close(fds[0]);
  if (!finished) ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!finished)
    return {Verdict::failed,
            fmt::format("did not finish within {} s (the plugin hangs or is far too slow)", timeout.count()), true};
  if (WIFSIGNALED(status))
    return fail(fmt::format("the plugin crashed with signal {} ({})", WTERMSIG(status), ::strsignal(WTERMSIG(status))));
  if (message.empty() || static_cast<unsigned char>(message[0]) > static_cast<unsigned char>(Verdict::skipped))
    return fail(fmt::format("the check ended without an answer (exit status {})",
                            WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  return {static_cast<Verdict>(message[0]), message.substr(1), false};
}

}  // namespace quantflow::conformance
