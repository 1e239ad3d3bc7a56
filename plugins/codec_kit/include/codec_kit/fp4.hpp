// FP4 (E2M1) helpers shared by the MXFP4 and NVFP4 codecs, bit-exact with ggml.
// ggml keeps the E2M1 table doubled (integers) and halves the block scale instead, so every
// scale decoder here returns half of the scale's true value.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace quantflow::codec_kit {

// Twice the E2M1 value of each 4-bit code; code 8 is -0, which doubles to plain 0.
inline constexpr int8_t kvalues_fp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// 2^(e-128), i.e. half of the E8M0 value 2^(e-127). e = 0 and 1 land in the float subnormals.
inline float e8m0_to_fp32_half(uint8_t e) {
  const uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e - 1) << 23);
  return std::bit_cast<float>(bits);
}

// Half of the UE4M3 value. 0x7F (the E4M3 NaN code) decodes to zero; bit 7 plays no part in
// the value.
inline float ue4m3_to_fp32_half(uint8_t x) {
  if (x == 0 || x == 0x7F) return 0.0f;
  const int exp = (x >> 3) & 0xF;
  const int man = x & 7;
  float raw;
  if (exp == 0) {
    raw = static_cast<float>(man) * 0x1p-9f;
  } else {
    raw = std::ldexp(1.0f + static_cast<float>(man) / 8.0f, exp - 7);
  }
  return raw * 0.5f;
}

// UE4M3 code for a (true, not halved) scale. Rounding looks only at the first dropped
// mantissa bit (half up, not to even), and results saturate at 448 (0x7E).
inline uint8_t fp32_to_ue4m3(float x) {
  if (!(x > 0.0f)) return 0;
  if (x > 448.0f) x = 448.0f;
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  const int fe = static_cast<int>((bits >> 23) & 0xFFu) - 127;
  const int fm = static_cast<int>((bits >> 20) & 7u);
  const int r = static_cast<int>((bits >> 19) & 1u);
  int ue_exp = fe + 7;
  if (ue_exp <= 0) {
    int m = static_cast<int>(x * 512.0f + 0.5f);
    if (m > 7) m = 7;
    if (m < 1) return 0;
    return static_cast<uint8_t>(m);
  }
  if (ue_exp >= 15) return 0x7E;
  int m = fm + r;
  if (m > 7) {
    m = 0;
    ++ue_exp;
    if (ue_exp >= 15) return 0x7E;
  }
  return static_cast<uint8_t>((ue_exp << 3) | m);
}

// The code whose doubled value times d_half is nearest to x; the first minimum wins, so +0
// is preferred over -0 and ties go to the smaller code.
inline uint8_t best_fp4_index(float x, float d_half) {
  uint8_t best = 0;
  float best_err = std::fabs(static_cast<float>(kvalues_fp4[0]) * d_half - x);
  for (uint8_t i = 1; i < 16; ++i) {
    const float err = std::fabs(static_cast<float>(kvalues_fp4[i]) * d_half - x);
    if (err < best_err) {
      best = i;
      best_err = err;
    }
  }
  return best;
}

}  // namespace quantflow::codec_kit
