// The 16-byte head Q4_K and Q5_K share: fp16 d, fp16 dmin, then eight 6-bit sub-block scales and
// eight 6-bit mins packed into 12 bytes (ggml's get_scale_min_k4 layout). The two types differ
// only in code width, so the scale search and the final requantisation live here.
#pragma once

#include <cmath>
#include <cstdint>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/quant_search.hpp"

namespace quantflow::codec_kit {

inline constexpr int kScaleMinQK = 256;
inline constexpr int kScaleMinSub = 32;
inline constexpr int kScaleMinNSub = kScaleMinQK / kScaleMinSub;
inline constexpr int kScaleMinScaleBytes = 12;

// The head of ggml's block_q4_K and block_q5_K: value = d * scale * q - dmin * min.
struct ScaleMinHead {
  Half d;
  Half dmin;
  uint8_t scales[kScaleMinScaleBytes];  // 6-bit scales and mins, get_scale_min_k4 layout
};
static_assert(sizeof(ScaleMinHead) == 2 * sizeof(Half) + kScaleMinScaleBytes);

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
inline void scale_min_multipliers(const ScaleMinHead& head, float* dl, float* ml) {
  const float d = load(head.d);
  const float dmin = load(head.dmin);
  for (int j = 0; j < kScaleMinNSub; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, head.scales, &sc, &m);
    dl[j] = d * sc;
    ml[j] = dmin * m;
  }
}

// quantize_row_q{4,5}_K_ref: writes the head and leaves the final codes 0..nmax in L (256).
// rmin and nstep are the make_qkx2_quants parameters, which differ between the two types.
void encode_scale_min_head_ref(const float* x, int nmax, float rmin, int nstep, uint8_t* L, ScaleMinHead& head);

// quantize_row_q{4,5}_K_impl: imatrix-weighted searches for the codes and for the 6-bit scales.
void encode_scale_min_head_weighted(const float* x, const float* qw, int nmax, uint8_t* L, ScaleMinHead& head);

// Either search, as ggml picks it: the weighted one whenever an imatrix slice is given.
void encode_scale_min_head(const float* x, const float* qw, int nmax, float rmin, int nstep, uint8_t* L,
                           ScaleMinHead& head);

}  // namespace quantflow::codec_kit
