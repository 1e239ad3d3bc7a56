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

struct BlockFp8B32 {
  Half d;
  uint8_t qs[kFp8B32Elems];  // FP8 codes
};
static_assert(sizeof(BlockFp8B32) == sizeof(Half) + kFp8B32Elems);

// scale = H(min(amax / fmt_max, 65504)), raised to the smallest fp16 subnormal (0x0001) when it
// would underflow to 0 for a non-zero block. Elements are encoded as fp8(x * (1 / F(scale))):
// the inverse of the stored, rounded scale, so that decoding multiplies by exactly the value
// the codes were divided by. A block with amax == 0 is 34 zero bytes.
template <uint8_t (*ToCode)(float)>
void encode_fp8_b32_block(const float* x, BlockFp8B32& y, float fmt_max) {
  constexpr float kFp16Max = 65504.0f;
  const float amax = abs_max(x, kFp8B32Elems);
  if (amax == 0.0f) {
    y = BlockFp8B32{};
    return;
  }
  const float d = amax / fmt_max;
  uint16_t h = fp32_to_fp16(d < kFp16Max ? d : kFp16Max);
  if (h == 0) h = 1;
  const float inv = 1.0f / fp16_to_fp32(h);
  store_bits(y.d, h);
  for (int j = 0; j < kFp8B32Elems; ++j) y.qs[j] = ToCode(x[j] * inv);
}

// The importance matrix is ignored: there is no weighted search.
template <uint8_t (*ToCode)(float)>
int32_t encode_fp8_b32(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, float fmt_max) {
  return encode_blocks<kFp8B32Elems, BlockFp8B32>(
      src, dst, n_rows, n_per_row, nullptr,
      [&](const float* x, BlockFp8B32& y) { encode_fp8_b32_block<ToCode>(x, y, fmt_max); });
}

template <float (*FromCode)(uint8_t)>
int32_t decode_fp8_b32(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return decode_blocks<kFp8B32Elems, BlockFp8B32>(src, dst, n_rows, n_per_row, [](const BlockFp8B32& b, float* y) {
    const float d = load(b.d);
    for (int j = 0; j < kFp8B32Elems; ++j) y[j] = FromCode(b.qs[j]) * d;
  });
}

}  // namespace quantflow::codec_kit
