// ggml's block_q8_0 and its reference encoder and decoder (quantize_row_q8_0_ref,
// dequantize_row_q8_0), one block at a time. This is the definition of the format's bytes:
// the SIMD kernels (simd_blocks.hpp) must reproduce it exactly, and tests compare them with it.
#pragma once

#include <cmath>
#include <cstdint>

#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_fields.hpp"

namespace quantflow::codec_kit {

inline constexpr int kQ8_0Elems = 32;

struct BlockQ8_0 {
  Half d;
  uint8_t qs[kQ8_0Elems];  // int8 codes
};
static_assert(sizeof(BlockQ8_0) == sizeof(Half) + kQ8_0Elems);

// roundf (ties away from zero) is what ggml uses, not nearest_int.
inline void encode_q8_0_block(const float* x, BlockQ8_0& y) {
  const float d = abs_max(x, kQ8_0Elems) / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  store(y.d, d);
  for (int j = 0; j < kQ8_0Elems; ++j) y.qs[j] = static_cast<uint8_t>(static_cast<int8_t>(std::round(x[j] * id)));
}

inline void decode_q8_0_block(const BlockQ8_0& b, float* y) {
  const float d = load(b.d);
  for (int j = 0; j < kQ8_0Elems; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b.qs[j])) * d;
}

}  // namespace quantflow::codec_kit
