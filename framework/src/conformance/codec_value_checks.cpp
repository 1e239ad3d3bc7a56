// What decode gives back for the standard inputs of codec_inputs.hpp.
#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "conformance/accuracy.hpp"
#include "conformance/codec_calls.hpp"
#include "conformance/codec_checks.hpp"
#include "conformance/codec_inputs.hpp"

namespace quantflow::conformance {

namespace {

constexpr int64_t kRows = 4;

std::string position(int64_t index, int64_t n_per_row) {
  return fmt::format("element {} of row {}", index % n_per_row, index / n_per_row);
}

// Finite output for finite input, and every row within the accuracy bound.
Outcome check_accuracy(const CodecSubject& s, const std::vector<float>& rows, const char* what) {
  const RoundTrip trip = round_trip(s.codec, rows, s.n_per_row, s.encode_imatrix());
  if (!trip.ok()) return fail(trip.failure());
  if (const int64_t bad = first_non_finite(trip.decoded); bad >= 0)
    return fail(fmt::format("{} decodes to {} although the input ({}) is finite", position(bad, s.n_per_row),
                            trip.decoded[static_cast<size_t>(bad)], rows[static_cast<size_t>(bad)]));
  const int64_t n_rows = static_cast<int64_t>(rows.size()) / s.n_per_row;
  double worst = 0.0;
  int64_t worst_row = 0;
  for (int64_t r = 0; r < n_rows; ++r)
    if (const double e = relative_rmse(rows, trip.decoded, r, s.n_per_row); e > worst) {
      worst = e;
      worst_row = r;
    }
  if (worst > s.bound)
    return fail(
        fmt::format("row {} decodes with relative RMS error {:.3g}, above the sanity bound {:.3g} for {:.3g} "
                    "bits per element",
                    worst_row, worst, s.bound, bits_per_element(s.codec, s.n_per_row)));
  return pass(fmt::format("{} rows of {} decode finite, worst relative RMS error {:.3g} (bound {:.3g})", n_rows, what,
                          worst, s.bound));
}

}  // namespace

Outcome check_zeros(const CodecSubject& s) {
  const auto rows = zero_rows(kRows, s.n_per_row);
  const RoundTrip trip = round_trip(s.codec, rows, s.n_per_row, s.encode_imatrix());
  if (!trip.ok()) return fail(trip.failure());
  for (size_t i = 0; i < trip.decoded.size(); ++i)
    if (trip.decoded[i] != 0.0f)
      return fail(fmt::format("{} decodes to {}, not exactly 0", position(static_cast<int64_t>(i), s.n_per_row),
                              trip.decoded[i]));
  return pass(fmt::format("{} rows of zeros decode to exactly 0", kRows));
}

Outcome check_constants(const CodecSubject& s) {
  return check_accuracy(s, constant_rows(kRows, s.n_per_row), "constants");
}

Outcome check_ramp(const CodecSubject& s) { return check_accuracy(s, ramp_rows(kRows, s.n_per_row), "ramp"); }

Outcome check_random(const CodecSubject& s) {
  return check_accuracy(s, random_rows(kRows, s.n_per_row), "gaussian random");
}

// +-65504 is the f16 maximum, which every f16-scaled block format holds: what encode accepts
// must decode without NaN, and the largest elements (at least half the maximum) keep their
// sign (an encoding with a smaller range, like f8_e4m3, may saturate or overflow to infinity).
// +-1e30 lies beyond f16 and f8, so the encoding's NaN/Inf policy applies: any decoded value
// is allowed, but encode and decode must answer with a value. Either may be refused with
// QF_CODEC_NON_FINITE.
Outcome check_extremes(const CodecSubject& s) {
  struct Case {
    float magnitude;
    bool within_f16;
  };
  std::string notes;
  for (const Case c : {Case{65504.0f, true}, Case{1e30f, false}}) {
    const auto row = extreme_row(s.n_per_row, c.magnitude);
    const RoundTrip trip = round_trip(s.codec, row, s.n_per_row, s.encode_imatrix());
    const std::string what = fmt::format("+-{:g}", c.magnitude);
    notes += fmt::format("{}{}: ", notes.empty() ? "" : "; ", what);
    if (trip.encode.code == QF_CODEC_NON_FINITE && !trip.encode.threw) {
      notes += "refused as non-finite";
      continue;
    }
    if (!trip.ok()) return fail(fmt::format("{}: {}", what, trip.failure()));
    int64_t nan = 0, infinite = 0;
    for (size_t i = 0; i < row.size(); ++i) {
      const float d = trip.decoded[i];
      nan += std::isnan(d) ? 1 : 0;
      infinite += std::isinf(d) ? 1 : 0;
      if (!c.within_f16) continue;
      if (std::isnan(d))
        return fail(fmt::format("{}: {} decodes to NaN (input {})", what,
                                position(static_cast<int64_t>(i), s.n_per_row), row[i]));
      if (std::fabs(row[i]) >= c.magnitude / 2 && (d == 0.0f || std::signbit(d) != std::signbit(row[i])))
        return fail(fmt::format("{}: {} decodes to {}, losing the input {}", what,
                                position(static_cast<int64_t>(i), s.n_per_row), d, row[i]));
    }
    if (nan == 0 && infinite == 0)
      notes += fmt::format("relative RMS error {:.3g}", relative_rmse(row, trip.decoded, 0, s.n_per_row));
    else
      notes +=
          fmt::format("beyond the encoding's range, {} element(s) decode to NaN and {} to infinity", nan, infinite);
  }
  return pass(notes);
}

Outcome check_subnormals(const CodecSubject& s) {
  const auto row = subnormal_row(s.n_per_row);
  const RoundTrip trip = round_trip(s.codec, row, s.n_per_row, s.encode_imatrix());
  if (!trip.ok()) return fail(trip.failure());
  // Twice the largest input: room for a scale rounded up, none for a scale blown up by 1/d.
  const float limit = 2.0f * std::numeric_limits<float>::min();
  for (size_t i = 0; i < row.size(); ++i)
    if (!std::isfinite(trip.decoded[i]) || std::fabs(trip.decoded[i]) > limit)
      return fail(fmt::format("{} decodes to {} (input {}): subnormal inputs must not blow up",
                              position(static_cast<int64_t>(i), s.n_per_row), trip.decoded[i], row[i]));
  return pass("subnormal inputs decode to finite values no larger than 2^-125");
}

// Block and integer encodings cannot hold NaN or infinity and must say so with
// QF_CODEC_NON_FINITE; plain floating types may carry them, as long as the other elements
// of the row still decode to finite values.
Outcome check_non_finite(const CodecSubject& s) {
  struct Case {
    const char* label;
    float value;
    int64_t position;
  };
  const Case cases[] = {{"NaN", std::numeric_limits<float>::quiet_NaN(), 3},
                        {"+inf", std::numeric_limits<float>::infinity(), 0},
                        {"-inf", -std::numeric_limits<float>::infinity(), s.n_per_row - 1}};
  const bool may_carry = s.codec.kind == static_cast<uint32_t>(DTypeKind::floating) && s.codec.row_scale == nullptr;
  std::string carried;
  for (const Case& c : cases) {
    const auto row = non_finite_row(s.n_per_row, c.value, c.position);
    std::vector<std::byte> bytes(encoded_row_bytes(s.codec, s.n_per_row));
    const CallResult encoded = call_encode(s.codec, row.data(), bytes.data(), 1, s.n_per_row, s.encode_imatrix());
    if (encoded.threw || (encoded.code != QF_CODEC_OK && encoded.code != QF_CODEC_NON_FINITE))
      return fail(fmt::format("{} at element {}: {}", c.label, c.position, describe_call("encode", encoded)));
    if (encoded.code == QF_CODEC_NON_FINITE) continue;
    if (!may_carry)
      return fail(
          fmt::format("{} at element {}: encode returned QF_CODEC_OK; a block or integer encoding cannot hold "
                      "NaN or infinity and must return QF_CODEC_NON_FINITE",
                      c.label, c.position));
    if (s.codec.decode == nullptr) continue;
    std::vector<float> decoded(row.size());
    const CallResult back = call_decode(s.codec, bytes.data(), decoded.data(), 1, s.n_per_row);
    if (!back.ok())
      return fail(fmt::format("{} at element {}: {}", c.label, c.position, describe_call("decode", back)));
    for (int64_t i = 0; i < s.n_per_row; ++i)
      if (i != c.position && !std::isfinite(decoded[static_cast<size_t>(i)]))
        return fail(fmt::format("{} at element {}: finite element {} decodes to {}", c.label, c.position, i,
                                decoded[static_cast<size_t>(i)]));
    carried +=
        fmt::format("{}{} -> {}", carried.empty() ? "" : ", ", c.label, decoded[static_cast<size_t>(c.position)]);
  }
  if (carried.empty()) return pass("NaN, +inf and -inf are refused with QF_CODEC_NON_FINITE");
  return pass("carried as values: " + carried);
}

}  // namespace quantflow::conformance
