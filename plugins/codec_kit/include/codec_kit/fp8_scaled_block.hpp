// The seed FP8_E4M3_B32 / FP8_E5M2_B32 blocks (docs/seed-formats.md §3): one fp16 scale then
// 32 FP8 codes, 34 bytes, value = fp8(code) * F(scale). The two formats differ only in the FP8
// flavour, so the whole codec is written once over the code conversions.
#pragma once

#include <cstdint>
#include <cstring>

#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/fp16.hpp"

namespace quantflow::codec_kit {

inline constexpr int kFp8B32Elems = 32;
inline constexpr int kFp8B32Bytes = 34;

// scale = H(min(amax / fmt_max, 65504)), raised to the smallest fp16 subnormal (0x0001) when it
// would underflow to 0 for a non-zero block. Elements are encoded as fp8(x * (1 / F(scale))):
// the inverse of the stored, rounded scale, so that decoding multiplies by exactly the value
// the codes were divided by. A block with amax == 0 is 34 zero bytes.
template <uint8_t (*ToCode)(float)>
void encode_fp8_b32_block(const float* x, uint8_t* y, float fmt_max) {
  constexpr float kFp16Max = 65504.0f;
  const float amax = abs_max(x, kFp8B32Elems);
  if (amax == 0.0f) {
    std::memset(y, 0, kFp8B32Bytes);
    return;
  }
  const float d = amax / fmt_max;
  uint16_t h = fp32_to_fp16(d < kFp16Max ? d : kFp16Max);
  if (h == 0) h = 1;
  const float inv = 1.0f / fp16_to_fp32(h);
  put_u16(y, h);
  for (int j = 0; j < kFp8B32Elems; ++j) y[2 + j] = ToCode(x[j] * inv);
}

// The importance matrix is ignored: there is no weighted search.
template <uint8_t (*ToCode)(float)>
int32_t encode_fp8_b32(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, float fmt_max) {
  return encode_blocks<kFp8B32Elems, kFp8B32Bytes>(
      src, dst, n_rows, n_per_row, nullptr,
      [&](const float* x, uint8_t* y) { encode_fp8_b32_block<ToCode>(x, y, fmt_max); });
}

template <float (*FromCode)(uint8_t)>
int32_t decode_fp8_b32(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return decode_blocks<kFp8B32Elems, kFp8B32Bytes>(src, dst, n_rows, n_per_row, [](const uint8_t* b, float* y) {
    const float d = get_half(b);
    for (int j = 0; j < kFp8B32Elems; ++j) y[j] = FromCode(b[2 + j]) * d;
  });
}

}  // namespace quantflow::codec_kit
