// How far a decoded row may be from its input before the codec is called broken.
//
// The bound is a sanity check, not a quality target: it must pass every honest encoding and
// fail the broken ones (decoding to zeros gives a relative RMS error of exactly 1, garbage
// or a flipped sign 1.4 to 2). With b = bits per element (block bytes x 8 / block elements,
// plus a row-scaled codec's scale bytes spread over the row):
//
//   bound(b) = min(0.9, 3 x max(1.9 x 2^-b, 2^-(b/2)))
//
// 1.9 x 2^-b fits integer block quantizers (q8_0 at 8.5 bits measures 0.005, q4_0 at 4.5
// bits 0.08); 2^-(b/2) fits float-like encodings that spend about half their bits on the
// exponent (f16, f8, fp8 blocks); the factor 3 leaves room for rows that quantize worse
// than the typical. `quantflow verify` bounds unknown encodings the same way. Below about
// 3 bits the formula exceeds 1, so the ceiling 0.9 keeps the check meaningful for ternary
// and 1-bit codecs: they must still beat decoding to zeros.
#pragma once

#include <cstdint>
#include <vector>

namespace quantflow::conformance {

double accuracy_bound(double bits_per_element);

// sqrt(sum (d - x)^2 / sum x^2) over row `row` of rows of n_per_row values; 0 when the row
// is all zeros and decodes to zeros.
double relative_rmse(const std::vector<float>& original, const std::vector<float>& decoded, int64_t row,
                     int64_t n_per_row);

// The index of the first NaN or infinity in `values`, or -1.
int64_t first_non_finite(const std::vector<float>& values);

}  // namespace quantflow::conformance
