#include "conformance/transcoder_checks.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>

#include <fmt/format.h>

#include "conformance/codec_calls.hpp"
#include "conformance/codec_inputs.hpp"
#include "core/plugin_guard.hpp"
#include "core/registry.hpp"

namespace quantflow::conformance {

namespace {

constexpr int64_t kRows = 8;
constexpr auto kFillA = std::byte{0x00};
constexpr auto kFillB = std::byte{0xa5};

struct Subject {
  const TranscoderDescriptor& t;
  const CodecDescriptor& from;
  const CodecDescriptor& to;
  int64_t unit;       // elements of the larger block (one block size divides the other, or their lcm)
  int64_t n_per_row;  // a few units
};

CallResult call_transcode(const TranscoderDescriptor& t, const void* src, void* dst, int64_t n_rows,
                          int64_t n_per_row) {
  CallResult result;
  try {
    result.code = t.transcode(src, dst, n_rows, n_per_row);
  } catch (...) {
    result.threw = true;
    result.exception = core::current_exception_text();
  }
  return result;
}

uint64_t bytes_of(const CodecDescriptor& c, int64_t n_rows, int64_t n_per_row) {
  return static_cast<uint64_t>(n_rows) * encoded_row_bytes(c, n_per_row);
}

// Source rows to transcode: standard inputs encoded by the source codec (what files hold)
// and raw random bytes (blocks no encoder writes), each with its name.
std::vector<std::pair<std::string, std::vector<std::byte>>> source_inputs(const Subject& s) {
  std::vector<std::pair<std::string, std::vector<std::byte>>> inputs;
  if (s.from.encode != nullptr) {
    const auto imatrix = standard_imatrix(s.n_per_row);
    const float* weights = (s.from.flags & QF_CODEC_IMATRIX_REQUIRED) ? imatrix.data() : nullptr;
    const std::pair<const char*, std::vector<float>> rows[] = {{"zeros", zero_rows(kRows, s.n_per_row)},
                                                               {"constants", constant_rows(kRows, s.n_per_row)},
                                                               {"ramp", ramp_rows(kRows, s.n_per_row)},
                                                               {"random", random_rows(kRows, s.n_per_row)}};
    for (const auto& [name, values] : rows) {
      std::vector<std::byte> bytes(bytes_of(s.from, kRows, s.n_per_row));
      if (call_encode(s.from, values.data(), bytes.data(), kRows, s.n_per_row, weights).ok())
        inputs.emplace_back(std::string(name) + " encoded as " + s.from.name, std::move(bytes));
    }
  }
  std::mt19937 rng(20260811);
  std::vector<std::byte> noise(bytes_of(s.from, kRows, s.n_per_row));
  for (auto& b : noise) b = static_cast<std::byte>(rng() & 0xFF);
  inputs.emplace_back("random bytes", std::move(noise));
  return inputs;
}

// The exactness contract: the same float bit for bit; a zero may change sign, and a NaN may
// change its payload.
bool same_value(float a, float b) {
  return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b) || (a == 0.0f && b == 0.0f) ||
         (std::isnan(a) && std::isnan(b));
}

Outcome check_bad_row_length(const Subject& s) {
  if (s.unit < 2) return skip("blocks of one element: every row length is valid");
  // 1.5 units is not a whole number of the larger block.
  const int64_t n = s.unit + s.unit / 2;
  std::vector<std::byte> src(bytes_of(s.from, 1, s.unit * 2)), dst(bytes_of(s.to, 1, s.unit * 2));
  const CallResult r = call_transcode(s.t, src.data(), dst.data(), 1, n);
  if (!r.threw && r.code == QF_CODEC_BAD_ROW_LENGTH)
    return pass(fmt::format("a row of {} elements returns QF_CODEC_BAD_ROW_LENGTH", n));
  return fail(fmt::format("a row of {} elements (not a multiple of {}): {}", n, s.unit, describe_call("transcode", r)));
}

Outcome check_exactness(const Subject& s) {
  if (s.from.decode == nullptr || s.to.decode == nullptr) return skip("a codec cannot decode: nothing to compare");
  const bool always = always_exact(s.t);
  size_t exact = 0, inexact = 0;
  for (const auto& [name, src] : source_inputs(s)) {
    std::vector<std::byte> dst(bytes_of(s.to, kRows, s.n_per_row), kFillB);
    const CallResult r = call_transcode(s.t, src.data(), dst.data(), kRows, s.n_per_row);
    if (!r.threw && r.code == QF_CODEC_INEXACT) {
      if (always)
        return fail(
            fmt::format("{}: returned QF_CODEC_INEXACT, but the descriptor says QF_TRANSCODE_ALWAYS_EXACT", name));
      ++inexact;
      continue;
    }
    if (!r.ok()) return fail(fmt::format("{}: {}", name, describe_call("transcode", r)));
    std::vector<float> before(static_cast<size_t>(kRows * s.n_per_row)), after(before.size());
    const CallResult d1 = call_decode(s.from, src.data(), before.data(), kRows, s.n_per_row);
    const CallResult d2 = call_decode(s.to, dst.data(), after.data(), kRows, s.n_per_row);
    if (!d1.ok() || !d2.ok()) return skip(fmt::format("{}: a codec failed to decode", name));
    const auto bad = std::mismatch(before.begin(), before.end(), after.begin(), same_value);
    if (bad.first != before.end())
      return fail(fmt::format("{}: element {} decodes to {} from {} but to {} after transcoding to {}", name,
                              bad.first - before.begin(), *bad.first, s.from.name, *bad.second, s.to.name));
    ++exact;
  }
  return pass(
      fmt::format("decoded values equal bit for bit on {} input(s); {} reported QF_CODEC_INEXACT", exact, inexact));
}

Outcome check_determinism(const Subject& s) {
  for (const auto& [name, src] : source_inputs(s)) {
    std::vector<std::byte> a(bytes_of(s.to, kRows, s.n_per_row), kFillA), b(a.size(), kFillB);
    const CallResult ra = call_transcode(s.t, src.data(), a.data(), kRows, s.n_per_row);
    const CallResult rb = call_transcode(s.t, src.data(), b.data(), kRows, s.n_per_row);
    if (ra.threw || rb.threw || ra.code != rb.code)
      return fail(fmt::format("{}: two calls returned {} and {}", name, describe_call("transcode", ra),
                              describe_call("transcode", rb)));
    if (ra.code != QF_CODEC_OK) continue;
    if (a != b)
      return fail(
          fmt::format("{}: two calls wrote different bytes (first at byte {}): output depends on more than "
                      "the input, or a byte was left unwritten",
                      name, std::mismatch(a.begin(), a.end(), b.begin()).first - a.begin()));
  }
  return pass("the same input gives the same bytes, every byte written");
}

struct BehaviourCheck {
  const char* id;
  Outcome (*run)(const Subject&);
};

constexpr BehaviourCheck kBehaviourChecks[] = {
    {.id = "bad_row_length", .run = check_bad_row_length},
    {.id = "exactness", .run = check_exactness},
    {.id = "determinism", .run = check_determinism},
};

Outcome check_descriptor(const TranscoderDescriptor& t, const std::string& pair, const NameOwners& others) {
  if (canonical_dtype_name(t.from) != t.from || canonical_dtype_name(t.to) != t.to)
    return fail("codec names must be the codecs' canonical lower-case names");
  if (t.description == nullptr || t.description[0] == '\0')
    return fail("the description is empty; `quantflow plugins` shows it to users");
  if (const auto it = others.find(pair); it != others.end())
    return fail(
        fmt::format("'{}' is also provided by {} on the plugin search path; quantflow loads only the first "
                    "plugin in search order that provides a pair",
                    pair, it->second));
  return pass(fmt::format("\"{}\"{}", t.description, always_exact(t) ? " (always exact)" : ""));
}

}  // namespace

std::vector<Check> check_transcoder(const TranscoderDescriptor& t, const CodecCatalog& codecs,
                                    const NameOwners& others) {
  const std::string pair = core::transcoder_pair(t);
  std::vector<Check> checks{{"transcoder", pair, "descriptor", Verdict::passed, {}}};
  Outcome described = check_descriptor(t, pair, others);
  checks[0].verdict = described.verdict;
  checks[0].reason = std::move(described.reason);

  const CodecDescriptor* from = codecs.find(t.from);
  const CodecDescriptor* to = codecs.find(t.to);
  std::string missing;
  for (const auto& [name, codec] : {std::pair{t.from, from}, std::pair{t.to, to}})
    if (codec == nullptr) missing += (missing.empty() ? "" : ", ") + canonical_dtype_name(name);
  checks.push_back({"transcoder", pair, "codecs", missing.empty() ? Verdict::passed : Verdict::skipped,
                    missing.empty() ? fmt::format("{} and {} are loaded", from ? from->name : "", to ? to->name : "")
                                    : fmt::format("not loaded: {} (the behaviour checks need both codecs)", missing)});
  std::optional<Subject> subject;
  if (missing.empty()) {
    const int64_t unit = std::lcm<int64_t>(from->block_elems, to->block_elems);
    subject.emplace(Subject{t, *from, *to, unit, unit * std::max<int64_t>(2, 256 / unit)});
  }
  bool hung = false;
  for (const BehaviourCheck& b : kBehaviourChecks) {
    Check check{"transcoder", pair, b.id, Verdict::skipped, {}};
    if (!subject) {
      check.reason = "not run: a codec is not loaded";
    } else if (hung) {
      check.reason = "not run: an earlier check did not finish";
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
