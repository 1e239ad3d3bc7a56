#include "affine_group.hpp"

#include <algorithm>
#include <cmath>

#include "codec_kit/block_extremes.hpp"

namespace quantflow::mlx_affine {

namespace {

// Below this step MLX treats a group as constant.
constexpr float kEps = 1e-7f;

// rint: round half to even under the default rounding mode, which nothing here changes.
float round_half_even(float x) { return std::nearbyint(x); }

}  // namespace

// Every step is a float32 operation in the document's order; -ffp-contract=off keeps the
// compiler from fusing any of them.
AffineFit fit_group(const float* w, int n, int bits, uint8_t* q) {
  const auto n_bins = static_cast<float>((1 << bits) - 1);
  float w_min, w_max;
  quantflow::codec_kit::min_max(w, n, &w_min, &w_max);
  // The edge with the larger magnitude is the one represented exactly; a positive edge gives
  // a negative scale, so the codes count down from it.
  const bool mask = std::fabs(w_min) > std::fabs(w_max);
  float scale = std::max((w_max - w_min) / n_bins, kEps);
  if (!mask) scale = -scale;
  const float edge = mask ? w_min : w_max;
  const float q0 = round_half_even(edge / scale);
  float bias = 0.0f;
  if (q0 != 0.0f) {
    scale = edge / q0;
    bias = edge;
  }
  for (int j = 0; j < n; ++j) {
    const float code = round_half_even((w[j] - bias) / scale);
    // Written so that a NaN quotient (an overflowed range) clamps instead of converting.
    q[j] = static_cast<uint8_t>(std::max(0.0f, std::min(n_bins, code)));
  }
  return {.scale = scale, .bias = bias};
}

}  // namespace quantflow::mlx_affine
