// Non-linear 4-bit helpers shared by the IQ4_NL and IQ4_XS codecs, bit-exact with ggml
// (quant-blocks.md §5). Both encode 32-element blocks against the same 16-entry value table;
// IQ4_XS groups eight of them under one fp16 super-scale with 6-bit block scales.
#pragma once

#include <cstdint>

#include "codec_kit/block_fields.hpp"

#include "codec_kit/fp16.hpp"
#include "codec_kit/quant_search.hpp"

namespace quantflow::codec_kit {

// kvalues_iq4nl: the 16 non-uniform levels, ascending.
inline constexpr int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// Index of the level nearest to x; below the first or above the last level clamps, and a
// value exactly halfway between two levels takes the upper one.
inline int iq4nl_best_index(float x) {
  const int8_t* v = kvalues_iq4nl;
  if (x <= static_cast<float>(v[0])) return 0;
  if (x >= static_cast<float>(v[15])) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < static_cast<float>(v[mid]))
      hi = mid;
    else
      lo = mid;
  }
  const float below = x - static_cast<float>(v[hi - 1]);
  const float above = static_cast<float>(v[hi]) - x;
  return below < above ? hi - 1 : hi;
}

inline constexpr int kIq4nlElems = 32;
inline constexpr int kIq4xsElems = 256;

// ggml's block_iq4_nl: value = d * kvalues_iq4nl[code].
struct BlockIq4Nl {
  Half d;
  uint8_t qs[kIq4nlElems / 2];  // element j low nibble of byte j, element j + 16 high
};
static_assert(sizeof(BlockIq4Nl) == sizeof(Half) + kIq4nlElems / 2);

// ggml's block_iq4_xs: eight IQ4_NL blocks under one fp16 scale with 6-bit block scales.
struct BlockIq4Xs {
  Half d;
  U16 scales_h;                        // top two bits of block scale ib at bits 2ib..2ib+1
  uint8_t scales_l[kIq4xsElems / 64];  // low four bits of block scale ib, two per byte
  uint8_t qs[kIq4xsElems / 2];         // 16 bytes per block, laid out as IQ4_NL's
};
static_assert(sizeof(BlockIq4Xs) == sizeof(Half) + sizeof(U16) + kIq4xsElems / 64 + kIq4xsElems / 2);

// One IQ4_NL block from 32 floats; qw is null or the block's 32 imatrix weights.
void iq4nl_encode_block(const float* x, const float* qw, BlockIq4Nl& out);

// One IQ4_XS super-block from 256 floats; qw is null or its 256 imatrix weights.
void iq4xs_encode_block(const float* x, const float* qw, BlockIq4Xs& out);

void iq4nl_decode_block(const BlockIq4Nl& in, float* y);

void iq4xs_decode_block(const BlockIq4Xs& in, float* y);

}  // namespace quantflow::codec_kit
