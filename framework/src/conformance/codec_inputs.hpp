// The standard rows every codec is run on. All are generated from fixed formulas and a
// fixed seed, so a report is reproducible and two runs compare byte for byte.
#pragma once

#include <cstdint>
#include <vector>

#include "quantflow/codec.hpp"

namespace quantflow::conformance {

// The row length the checks use: 256 elements rounded up to whole blocks (one block when
// blocks are longer), long enough for super-block codecs and short enough to run in
// milliseconds.
int64_t standard_row_length(const CodecDescriptor& codec);

// Each function returns n_rows rows of n_per_row floats, row after row.
std::vector<float> zero_rows(int64_t n_rows, int64_t n_per_row);
// One constant per row: 1, -2.5, 0.125, 100, ...
std::vector<float> constant_rows(int64_t n_rows, int64_t n_per_row);
// -1 .. 1 in equal steps, row r scaled by a different power of ten.
std::vector<float> ramp_rows(int64_t n_rows, int64_t n_per_row);
// Gaussian values (fixed seed), row r scaled like the ramp.
std::vector<float> random_rows(int64_t n_rows, int64_t n_per_row);
// The largest magnitudes: a ramp reaching +-magnitude with alternating signs.
std::vector<float> extreme_row(int64_t n_per_row, float magnitude);
// Subnormal values only (down to the smallest, 2^-149), alternating in sign, with zeros.
std::vector<float> subnormal_row(int64_t n_per_row);
// A ramp with one non-finite value (NaN, +inf or -inf) at `position`.
std::vector<float> non_finite_row(int64_t n_per_row, float value, int64_t position);

// Positive importance weights, one per column, varying so that weighting matters.
std::vector<float> standard_imatrix(int64_t n_per_row);

}  // namespace quantflow::conformance
