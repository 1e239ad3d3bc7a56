// The extremes ggml derives block scales from. They are scanned in element order so that ties
// resolve as in ggml (the first element wins), which decides the sign of symmetric scales.
#pragma once

#include <cfloat>
#include <cmath>

namespace quantflow::codec_kit {

// Largest |x|; 0 for an all-zero block.
inline float abs_max(const float* x, int n) {
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    amax = amax > a ? amax : a;
  }
  return amax;
}

// The signed value with the largest magnitude (the first one on ties); its magnitude goes to
// *amax_out.
inline float signed_absmax(int n, const float* x, float* amax_out) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  *amax_out = amax;
  return max;
}

inline void min_max(const float* x, int n, float* min_out, float* max_out) {
  float min = FLT_MAX;
  float max = -FLT_MAX;
  for (int i = 0; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
  }
  *min_out = min;
  *max_out = max;
}

}  // namespace quantflow::codec_kit
