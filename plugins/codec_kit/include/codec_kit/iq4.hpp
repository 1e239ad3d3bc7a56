// Non-linear 4-bit helpers shared by the IQ4_NL and IQ4_XS codecs, bit-exact with ggml
// (quant-blocks.md §5). Both encode 32-element blocks against the same 16-entry value table;
// IQ4_XS groups eight of them under one fp16 super-scale with 6-bit block scales.
#pragma once

#include <cstdint>

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

// One IQ4_NL block (18 bytes) from 32 floats; qw is null or the block's 32 imatrix weights.
void iq4nl_encode_block(const float* x, const float* qw, uint8_t* out);

// One IQ4_XS super-block (136 bytes) from 256 floats; qw is null or its 256 imatrix weights.
void iq4xs_encode_block(const float* x, const float* qw, uint8_t* out);

void iq4nl_decode_block(const uint8_t* in, float* y);

void iq4xs_decode_block(const uint8_t* in, float* y);

}  // namespace quantflow::codec_kit
