// The order and preconditions of a codec's checks: descriptor first; behaviour checks only
// when the geometry is sane (it sizes every buffer) and the directions they need exist.
#include <algorithm>
#include <optional>

#include "conformance/accuracy.hpp"
#include "conformance/codec_calls.hpp"
#include "conformance/codec_checks.hpp"
#include "conformance/codec_inputs.hpp"

namespace quantflow::conformance {

namespace {

struct BehaviourCheck {
  const char* id;
  bool needs_encode;
  bool needs_decode;
  Outcome (*run)(const CodecSubject&);
};

constexpr BehaviourCheck kBehaviourChecks[] = {
    {.id = "zeros", .needs_encode = true, .needs_decode = true, .run = check_zeros},
    {.id = "constants", .needs_encode = true, .needs_decode = true, .run = check_constants},
    {.id = "ramp", .needs_encode = true, .needs_decode = true, .run = check_ramp},
    {.id = "random", .needs_encode = true, .needs_decode = true, .run = check_random},
    {.id = "extremes", .needs_encode = true, .needs_decode = true, .run = check_extremes},
    {.id = "subnormals", .needs_encode = true, .needs_decode = true, .run = check_subnormals},
    {.id = "non_finite", .needs_encode = true, .needs_decode = false, .run = check_non_finite},
    {.id = "imatrix", .needs_encode = true, .needs_decode = false, .run = check_imatrix},
    {.id = "bad_row_length", .needs_encode = false, .needs_decode = false, .run = check_bad_row_length},
    {.id = "determinism", .needs_encode = true, .needs_decode = false, .run = check_determinism},
    {.id = "thread_safety", .needs_encode = true, .needs_decode = false, .run = check_thread_safety},
};

// Why `check` cannot run on this codec, or empty.
std::string missing_precondition(const BehaviourCheck& check, const CodecDescriptor& codec) {
  if (check.needs_encode && codec.encode == nullptr) return "decode-only codec: nothing to encode";
  if (check.needs_decode && codec.decode == nullptr) return "encode-only codec: nothing to decode";
  return {};
}

}  // namespace

CodecSubject::CodecSubject(const CodecDescriptor& c)
    : codec(c),
      n_per_row(standard_row_length(c)),
      imatrix(standard_imatrix(n_per_row)),
      bound(accuracy_bound(bits_per_element(c, n_per_row))) {}

std::vector<Check> check_codec(const CodecDescriptor& codec, const NameOwners& others) {
  std::vector<Check> checks = check_codec_descriptor(codec, others);
  const bool geometry_sane = std::none_of(checks.begin(), checks.end(), [](const Check& c) {
    return c.check == "geometry" && c.verdict == Verdict::failed;
  });
  std::optional<CodecSubject> subject;  // sized from the geometry, so only when it is sane
  if (geometry_sane) subject.emplace(codec);
  bool hung = false;
  for (const BehaviourCheck& b : kBehaviourChecks) {
    Check check{"codec", codec.name, b.id, Verdict::skipped, {}};
    if (!geometry_sane) {
      check.reason = "not run: the block geometry is not sane";
    } else if (hung) {
      check.reason = "not run: an earlier check did not finish";
    } else if (std::string missing = missing_precondition(b, codec); !missing.empty()) {
      check.reason = missing;
    } else {
      Outcome outcome = run_isolated([&] { return b.run(*subject); });
      check.verdict = outcome.verdict;
      check.reason = std::move(outcome.reason);
      hung = outcome.timed_out;
    }
    checks.push_back(std::move(check));
  }
  return checks;
}

}  // namespace quantflow::conformance
