// Steps the IQ encoders (IQ1_S/M, IQ2_XXS/XS/S, IQ3_XXS/S) run on every sub-block before and
// after their type-specific lattice search. They are kept in ggml's exact operation order: the
// sums below decide which candidate scale wins, so a reordered product changes output bytes.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

#include "codec_kit/quant_search.hpp"

namespace quantflow::codec_kit {

inline float sum_squares(const float* x, int n) {
  float sum = 0;
  for (int i = 0; i < n; ++i) sum += x[i] * x[i];
  return sum;
}

// ggml's importance weights: the imatrix entry scaled by the element's size relative to the
// super-block's spread sigma2.
inline void imatrix_weights(const float* x, const float* qw, float sigma2, int n, float* weight) {
  for (int i = 0; i < n; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + x[i] * x[i]);
}

// The neighbour searches compare distances weighted by sqrt(weight).
inline void sqrt_weights(const float* weight, int n, float* waux) {
  for (int i = 0; i < n; ++i) waux[i] = std::sqrt(weight[i]);
}

// Largest of n non-negative magnitudes, starting from the first so that a leading -0.0 stays.
inline float max_magnitude(const float* xval, int n) {
  float max = xval[0];
  for (int i = 1; i < n; ++i) max = max > xval[i] ? max : xval[i];
  return max;
}

// Magnitudes of a group of eight into xval; returns the sign bits (bit i: x[i] < 0).
inline uint8_t split_signs8(const float* x, float* xval) {
  uint8_t s = 0;
  for (int i = 0; i < 8; ++i) {
    if (x[i] >= 0) {
      xval[i] = x[i];
    } else {
      xval[i] = -x[i];
      s |= static_cast<uint8_t>(1u << i);
    }
  }
  return s;
}

// The XXS/XS grids store seven sign bits and imply the eighth by even parity, so an odd count
// of negatives is fixed by flipping the element that costs least (smallest weight * x^2).
// Returns the seven stored bits.
inline uint8_t even_parity_signs8(const float* x, const float* weight, float* xval) {
  uint8_t s = split_signs8(x, xval);
  if (std::popcount(s) % 2) {
    int imin = 0;
    float cmin = weight[0] * x[0] * x[0];
    for (int i = 1; i < 8; ++i) {
      const float c = weight[i] * x[i] * x[i];
      if (c < cmin) {
        cmin = c;
        imin = i;
      }
    }
    xval[imin] = -xval[imin];
    s ^= static_cast<uint8_t>(1u << imin);
  }
  return static_cast<uint8_t>(s & 127);
}

// The weighted least-squares terms of levels L (lattice positions 2l + 1) against xval.
inline void lattice_fit(const float* weight, const float* xval, const int8_t* L, int n, float* sumqx, float* sumq2) {
  float qx = 0, q2 = 0;
  for (int i = 0; i < n; ++i) {
    const float w = weight[i];
    const float q = 2 * L[i] + 1;
    qx += w * xval[i] * q;
    q2 += w * q * q;
  }
  *sumqx = qx;
  *sumq2 = q2;
}

// A sub-block scale as the odd multiple 2l + 1 of the super-scale 1/id, l in 0..lmax.
inline int sub_scale_code(float id, float scale, int lmax) {
  const int l = nearest_int(0.5f * (id * scale - 1));
  return l < 0 ? 0 : (l > lmax ? lmax : l);
}

}  // namespace quantflow::codec_kit
