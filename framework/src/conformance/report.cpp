#include <algorithm>

#include "conformance/conformance.hpp"

namespace quantflow::conformance {

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::passed:
      return "passed";
    case Verdict::failed:
      return "failed";
    case Verdict::skipped:
      return "skipped";
  }
  return "failed";
}

size_t PluginReport::count(Verdict verdict) const {
  return static_cast<size_t>(
      std::count_if(checks.begin(), checks.end(), [&](const Check& c) { return c.verdict == verdict; }));
}

}  // namespace quantflow::conformance
