#include "codec_kit/kquant_scale_min.hpp"

#include <cmath>
#include <cstdint>

namespace quantflow::codec_kit {

namespace scale_min_detail {

// Codes are recomputed against the fp16-rounded scales the decoder will see; a sub-block whose
// scale rounds to zero keeps the search's codes.
inline void requantize(const float* x, int nmax, const ScaleMinHead& head, uint8_t* L) {
  const float d = load(head.d);
  const float dmin = load(head.dmin);
  for (int j = 0; j < kScaleMinNSub; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, head.scales, &sc, &m);
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

void encode_scale_min_head_ref(const float* x, int nmax, float rmin, int nstep, uint8_t* L, ScaleMinHead& head) {
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
  pack_scale_min_k4(ls, lm, head.scales);
  store(head.d, max_scale / 63.f);
  store(head.dmin, max_min / 63.f);
  scale_min_detail::requantize(x, nmax, head, L);
}

void encode_scale_min_head_weighted(const float* x, const float* qw, int nmax, uint8_t* L, ScaleMinHead& head) {
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
  pack_scale_min_k4(ls, lm, head.scales);
  store(head.d, d_block);
  store(head.dmin, m_block);
  scale_min_detail::requantize(x, nmax, head, L);
}

void encode_scale_min_head(const float* x, const float* qw, int nmax, float rmin, int nstep, uint8_t* L,
                           ScaleMinHead& head) {
  if (qw != nullptr) {
    encode_scale_min_head_weighted(x, qw, nmax, L, head);
  } else {
    encode_scale_min_head_ref(x, nmax, rmin, nstep, L, head);
  }
}

}  // namespace quantflow::codec_kit
