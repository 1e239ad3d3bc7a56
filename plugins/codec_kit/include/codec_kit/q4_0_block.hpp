// ggml's block_q4_0 and its reference encoder and decoder (quantize_row_q4_0_ref,
// dequantize_row_q4_0), one block at a time. This is the definition of the format's bytes:
// the SIMD kernels (simd_blocks.hpp) must reproduce it exactly, and tests compare them with it.
// The imatrix-weighted search (quantize_row_q4_0_impl) stays in the codec: it walks rows.
#pragma once

#include <algorithm>
#include <cstdint>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/legacy_blocks.hpp"

namespace quantflow::codec_kit {

struct BlockQ4_0 {
  Half d;
  uint8_t qs[kLegacyQK / 2];  // element j in the low nibble of byte j, element j + 16 in its high nibble
};
static_assert(sizeof(BlockQ4_0) == sizeof(Half) + kLegacyQK / 2);

inline void encode_q4_0_block(const float* x, BlockQ4_0& y) {
  const float id = put_symmetric_scale(x, -8.0f, y.d);
  int q[kLegacyQK];
  for (int j = 0; j < kLegacyQK; ++j) q[j] = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
  pack_nibbles(q, y.qs);
}

inline void decode_q4_0_block(const BlockQ4_0& b, float* y) {
  int q[kLegacyQK];
  unpack_nibbles(b.qs, q);
  dequantize_symmetric(q, 8, load(b.d), y);
}

}  // namespace quantflow::codec_kit
