#include "codec_kit/iq4.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace quantflow::codec_kit {

namespace iq4_detail {

inline constexpr int kTries = 7;

// Weighted fit of one 32-element block: the least-squares scale of the best trial, or 0 for
// a (near) all-zero block. `weight` holds the 32 per-element weights.
inline float fit_block_scale(const float* x, const float* weight) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; ++j) {
    const float ax = std::fabs(x[j]);
    if (ax > amax) {
      amax = ax;
      max = x[j];
    }
  }
  if (amax < kGroupMaxEps) return 0.0f;
  const float v0 = static_cast<float>(kvalues_iq4nl[0]);
  float d = -max / v0;
  float id = 1.0f / d;
  float sumqx = 0.0f, sumq2 = 0.0f;
  for (int j = 0; j < 32; ++j) {
    const float q = static_cast<float>(kvalues_iq4nl[iq4nl_best_index(id * x[j])]);
    const float w = weight[j];
    sumqx += w * q * x[j];
    sumq2 += w * q * q;
  }
  d = sumq2 > 0.0f ? sumqx / sumq2 : 0.0f;
  float best = d * sumqx;
  for (int itry = -kTries; itry <= kTries; ++itry) {
    id = static_cast<float>(itry + kvalues_iq4nl[0]) / max;
    sumqx = 0.0f;
    sumq2 = 0.0f;
    for (int j = 0; j < 32; ++j) {
      const float q = static_cast<float>(kvalues_iq4nl[iq4nl_best_index(id * x[j])]);
      const float w = weight[j];
      sumqx += w * q * x[j];
      sumq2 += w * q * q;
    }
    if (sumq2 > 0.0f && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

// Weights for the block starting at x: x² without an importance matrix, otherwise
// qw * sqrt(sigma2 + x²).
inline void block_weights(const float* x, const float* qw, float sigma2, float* weight) {
  if (qw) {
    for (int j = 0; j < 32; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
  } else {
    for (int j = 0; j < 32; ++j) weight[j] = x[j] * x[j];
  }
}

// sigma2 = 2 * Σx² / n over the super-block.
inline float super_block_sigma2(const float* x, int n) {
  float s = 0.0f;
  for (int j = 0; j < n; ++j) s += x[j] * x[j];
  return s * (2.0f / static_cast<float>(n));
}

// 32 level indices packed two per byte: element j low nibble, element j+16 high nibble.
inline void pack_nibbles(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
}

}  // namespace iq4_detail

void iq4nl_encode_block(const float* x, const float* qw, BlockIq4Nl& out) {
  float weight[32];
  iq4_detail::block_weights(x, qw, qw ? iq4_detail::super_block_sigma2(x, 32) : 0.0f, weight);
  const float d = iq4_detail::fit_block_scale(x, weight);
  store(out.d, d);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  uint8_t L[32];
  for (int j = 0; j < 32; ++j) L[j] = static_cast<uint8_t>(iq4nl_best_index(id * x[j]));
  iq4_detail::pack_nibbles(L, out.qs);
}

void iq4xs_encode_block(const float* x, const float* qw, BlockIq4Xs& out) {
  const float sigma2 = qw ? iq4_detail::super_block_sigma2(x, 256) : 0.0f;
  float scales[8];
  float weight[32];
  float max_scale = 0.0f, amax_scale = 0.0f;
  for (int ib = 0; ib < 8; ++ib) {
    iq4_detail::block_weights(x + 32 * ib, qw ? qw + 32 * ib : nullptr, sigma2, weight);
    const float d = iq4_detail::fit_block_scale(x + 32 * ib, weight);
    scales[ib] = d;
    if (std::fabs(d) > amax_scale) {
      amax_scale = std::fabs(d);
      max_scale = d;
    }
  }
  const float d = -max_scale / 32.0f;
  store(out.d, d);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  uint16_t scales_h = 0;
  uint8_t* scales_l = out.scales_l;
  std::memset(scales_l, 0, sizeof(out.scales_l));
  for (int ib = 0; ib < 8; ++ib) {
    int l = nearest_int(id * scales[ib]);
    l = l < -32 ? -32 : (l > 31 ? 31 : l);
    const float dl = d * static_cast<float>(l);
    const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
    const float* xb = x + 32 * ib;
    uint8_t L[32];
    for (int j = 0; j < 32; ++j) L[j] = static_cast<uint8_t>(iq4nl_best_index(idl * xb[j]));
    iq4_detail::pack_nibbles(L, out.qs + 16 * ib);
    const int u = l + 32;
    scales_l[ib / 2] = static_cast<uint8_t>(scales_l[ib / 2] | ((u & 0xF) << (4 * (ib % 2))));
    scales_h = static_cast<uint16_t>(scales_h | ((u >> 4) << (2 * ib)));
  }
  store(out.scales_h, scales_h);
}

void iq4nl_decode_block(const BlockIq4Nl& in, float* y) {
  const float d = load(in.d);
  const uint8_t* qs = in.qs;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(kvalues_iq4nl[qs[j] & 0xF]);
    y[j + 16] = d * static_cast<float>(kvalues_iq4nl[qs[j] >> 4]);
  }
}

void iq4xs_decode_block(const BlockIq4Xs& in, float* y) {
  const float d = load(in.d);
  const unsigned scales_h = load(in.scales_h);
  const uint8_t* scales_l = in.scales_l;
  for (int ib = 0; ib < 8; ++ib) {
    const int ls = ((scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((scales_h >> (2 * ib)) & 3) << 4);
    const float dl = d * static_cast<float>(ls - 32);
    const uint8_t* qs = in.qs + 16 * ib;
    float* yb = y + 32 * ib;
    for (int j = 0; j < 16; ++j) {
      yb[j] = dl * static_cast<float>(kvalues_iq4nl[qs[j] & 0xF]);
      yb[j + 16] = dl * static_cast<float>(kvalues_iq4nl[qs[j] >> 4]);
    }
  }
}

}  // namespace quantflow::codec_kit
