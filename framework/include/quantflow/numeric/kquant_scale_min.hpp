// The 16-byte head Q4_K and Q5_K share: fp16 d, fp16 dmin, then eight 6-bit sub-block scales and
// eight 6-bit mins packed into 12 bytes (ggml's get_scale_min_k4 layout). The two types differ
// only in code width, so the scale search and the final requantisation live here.
#pragma once

#include <cmath>
#include <cstdint>

#include "quantflow/numeric/block_fields.hpp"
#include "quantflow/numeric/quant_search.hpp"

namespace quantflow::numeric {

inline constexpr int kScaleMinQK = 256;
inline constexpr int kScaleMinSub = 32;
inline constexpr int kScaleMinNSub = kScaleMinQK / kScaleMinSub;
inline constexpr int kScaleMinHeadBytes = 16;

// Byte offsets inside the head.
inline constexpr int kScaleMinD = 0, kScaleMinDmin = 2, kScaleMinScales = 4;

inline void get_scale_min_k4(int j, const uint8_t* s, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// j = 0..3 assign whole bytes before j = 4..7 OR in their top bits, so the order matters.
inline void pack_scale_min_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* s) {
  for (int j = 0; j < kScaleMinNSub; ++j) {
    if (j < 4) {
      s[j] = ls[j];
      s[j + 4] = lm[j];
    } else {
      s[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      s[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      s[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

// The per-sub-block multipliers d * scale and dmin * min that the decoder applies.
inline void scale_min_multipliers(const uint8_t* head, float* dl, float* ml) {
  const float d = get_half(head + kScaleMinD);
  const float dmin = get_half(head + kScaleMinDmin);
  for (int j = 0; j < kScaleMinNSub; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, head + kScaleMinScales, &sc, &m);
    dl[j] = d * sc;
    ml[j] = dmin * m;
  }
}

namespace scale_min_detail {

// Codes are recomputed against the fp16-rounded scales the decoder will see; a sub-block whose
// scale rounds to zero keeps the search's codes.
inline void requantize(const float* x, int nmax, const uint8_t* head, uint8_t* L) {
  const float d = get_half(head + kScaleMinD);
  const float dmin = get_half(head + kScaleMinDmin);
  for (int j = 0; j < kScaleMinNSub; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, head + kScaleMinScales, &sc, &m);
    const float dq = d * sc;
    if (dq == 0) continue;
    const float dm = dmin * m;
    for (int i = 0; i < kScaleMinSub; ++i) {
      const int l = nearest_int((x[kScaleMinSub * j + i] + dm) / dq);
      L[kScaleMinSub * j + i] = static_cast<uint8_t>(l < 0 ? 0 : (l > nmax ? nmax : l));
    }
  }
}

}  // namespace scale_min_detail

// quantize_row_q{4,5}_K_ref: writes the head and leaves the final codes 0..nmax in L (256).
// rmin and nstep are the make_qkx2_quants parameters, which differ between the two types.
inline void encode_scale_min_head_ref(const float* x, int nmax, float rmin, int nstep, uint8_t* L, uint8_t* head) {
  uint8_t Laux[kScaleMinSub], ls[kScaleMinNSub], lm[kScaleMinNSub];
  float weights[kScaleMinSub], scales[kScaleMinNSub], mins[kScaleMinNSub];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < kScaleMinNSub; ++j) {
    const float* xs = x + kScaleMinSub * j;
    float sum_x2 = 0;
    for (int l = 0; l < kScaleMinSub; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < kScaleMinSub; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = make_qkx2_quants(kScaleMinSub, nmax, xs, weights, L + kScaleMinSub * j, &mins[j], Laux, rmin, 0.1f,
                                 nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < kScaleMinNSub; ++j) {
    const uint8_t a = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
    const uint8_t b = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
    ls[j] = a < 63 ? a : 63;
    lm[j] = b < 63 ? b : 63;
  }
  pack_scale_min_k4(ls, lm, head + kScaleMinScales);
  put_half(head + kScaleMinD, max_scale / 63.f);
  put_half(head + kScaleMinDmin, max_min / 63.f);
  scale_min_detail::requantize(x, nmax, head, L);
}

// quantize_row_q{4,5}_K_impl: imatrix-weighted searches for the codes and for the 6-bit scales.
inline void encode_scale_min_head_weighted(const float* x, const float* qw, int nmax, uint8_t* L, uint8_t* head) {
  uint8_t Laux[kScaleMinSub], ls[kScaleMinNSub], lm[kScaleMinNSub];
  float weights[kScaleMinSub], scales[kScaleMinNSub], mins[kScaleMinNSub], sw[kScaleMinNSub];
  float sum_x2 = 0;
  for (int l = 0; l < kScaleMinQK; ++l) sum_x2 += x[l] * x[l];
  const float sigma2 = 2 * sum_x2 / kScaleMinQK;
  for (int j = 0; j < kScaleMinNSub; ++j) {
    const float* xs = x + kScaleMinSub * j;
    for (int l = 0; l < kScaleMinSub; ++l) weights[l] = qw[kScaleMinSub * j + l] * std::sqrt(sigma2 + xs[l] * xs[l]);
    float sumw = 0;
    for (int l = 0; l < kScaleMinSub; ++l) sumw += weights[l];
    sw[j] = sumw;
    scales[j] = make_qkx3_quants(kScaleMinSub, nmax, xs, weights, L + kScaleMinSub * j, &mins[j], Laux, -0.9f, 0.05f,
                                 36, false);
  }
  const float d_block = make_qp_quants(kScaleMinNSub, 63, scales, ls, sw);
  const float m_block = make_qp_quants(kScaleMinNSub, 63, mins, lm, sw);
  pack_scale_min_k4(ls, lm, head + kScaleMinScales);
  put_half(head + kScaleMinD, d_block);
  put_half(head + kScaleMinDmin, m_block);
  scale_min_detail::requantize(x, nmax, head, L);
}

// Either search, as ggml picks it: the weighted one whenever an imatrix slice is given.
inline void encode_scale_min_head(const float* x, const float* qw, int nmax, float rmin, int nstep, uint8_t* L,
                                  uint8_t* head) {
  if (qw != nullptr) {
    encode_scale_min_head_weighted(x, qw, nmax, L, head);
  } else {
    encode_scale_min_head_ref(x, nmax, rmin, nstep, L, head);
  }
}

}  // namespace quantflow::numeric
