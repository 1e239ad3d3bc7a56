// Runs one check in a forked child process, so that a plugin that crashes, hangs or lets an
// exception escape fails that check (with the signal or the timeout in the reason) instead
// of ending plugin-check without a word. The child inherits the loaded plugin; it sends its
// verdict back through a pipe.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "conformance/conformance.hpp"

namespace quantflow::conformance {

struct Outcome {
  Verdict verdict = Verdict::passed;
  std::string reason;
  bool timed_out = false;  // the child was killed at the deadline
};

inline Outcome pass(std::string reason) { return {Verdict::passed, std::move(reason), false}; }
inline Outcome fail(std::string reason) { return {Verdict::failed, std::move(reason), false}; }
inline Outcome skip(std::string reason) { return {Verdict::skipped, std::move(reason), false}; }

// A check takes milliseconds (a second or so under sanitizers); 20 s means the plugin is stuck.
inline constexpr std::chrono::seconds kCheckTimeout{20};

// `body` runs in the child; anything it throws becomes a failed outcome. When fork() is
// refused, `body` runs in this process instead (still correct, only unprotected).
Outcome run_isolated(const std::function<Outcome()>& body, std::chrono::seconds timeout = kCheckTimeout);

}  // namespace quantflow::conformance
