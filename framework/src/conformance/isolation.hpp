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
};

inline Outcome pass(std::string reason) { return {Verdict::passed, std::move(reason)}; }
inline Outcome fail(std::string reason) { return {Verdict::failed, std::move(reason)}; }
inline Outcome skip(std::string reason) { return {Verdict::skipped, std::move(reason)}; }

// A check takes a few milliseconds; a minute means the plugin is stuck.
inline constexpr std::chrono::seconds kCheckTimeout{60};

// `body` runs in the child; anything it throws becomes a failed outcome. When fork() is
// refused, `body` runs in this process instead (still correct, only unprotected).
Outcome run_isolated(const std::function<Outcome()>& body, std::chrono::seconds timeout = kCheckTimeout);

}  // namespace quantflow::conformance
