#include "pipeline/analysis/error_bounds.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>

namespace quantflow::pipeline {

namespace {

// The safety factor over the measured error: real weights have heavier tails than the
// gaussian rows the measurements used, so a correct encoder may do somewhat worse.
constexpr double kSafetyFactor = 3.0;

struct MeasuredError {
  std::string_view codec;
  double gaussian_rel_rmse;  // column 2 of tests/data/verify_calibration.tsv
};

// Copied from tests/data/verify_calibration.tsv; the tests keep both in step.
constexpr MeasuredError kMeasured[] = {
    {"bf16", 0.001642},        {"f16", 0.0002052},         {"f32", 0},
    {"f8_e4m3", 0.02702},      {"f8_e5m2", 0.05267},       {"fp8_e4m3_b32", 0.02383},
    {"fp8_e5m2_b32", 0.05044}, {"int8_channel", 0.007145}, {"iq1_m", 0.5523},
    {"iq1_s", 0.4842},         {"iq2_s", 0.2683},          {"iq2_xs", 0.3023},
    {"iq2_xxs", 0.3411},       {"iq3_s", 0.1624},          {"iq3_xxs", 0.1995},
    {"iq4_nl", 0.07603},       {"iq4_xs", 0.07677},        {"mxfp4", 0.1158},
    {"nvfp4", 0.09338},        {"q1_0", 0.6059},           {"q2_0", 0.7},
    {"q2_k", 0.2887},          {"q3_k", 0.1485},           {"q4_0", 0.08187},
    {"q4_1", 0.07835},         {"q4_k", 0.07065},          {"q5_0", 0.04284},
    {"q5_1", 0.03692},         {"q5_k", 0.03436},          {"q6_k", 0.01781},
    {"q8_0", 0.005236},        {"q8_1", 0.005236},         {"q8_k", 0.006419},
    {"tq1_0", 0.7806},         {"tq2_0", 0.7806},          {"tq2_0_g128", 0.7677},
};

// f32 stores an f32 source exactly, but a wider source (f64) is rounded to 24 bits.
constexpr double kF32Rounding = 1e-7;

}  // namespace

double rel_rmse_bound(const DType& dtype) {
  for (const auto& m : kMeasured)
    if (m.codec == dtype.name) return std::max(m.gaussian_rel_rmse * kSafetyFactor, kF32Rounding);
  const double bits = 8.0 * dtype.block_bytes / dtype.block_elems;
  // Integer block quantizers in the table follow rel RMSE ~= 1.9 * 2^-bits (q8_0 at 8.5 bits:
  // 0.0052, q4_0 at 4.5: 0.082, q2_k at 2.6: 0.29). Float-like encodings (f16, f8_e4m3, fp8
  // blocks) spend about half their bits on the exponent, ~= 2^-(bits/2). An unknown encoding
  // may be either, so it gets the looser of the two: still far below the ~1.0 of garbage.
  const double typical = std::max(1.9 * std::exp2(-bits), std::exp2(-bits / 2.0));
  return std::max(typical * kSafetyFactor, kF32Rounding);
}

}  // namespace quantflow::pipeline
