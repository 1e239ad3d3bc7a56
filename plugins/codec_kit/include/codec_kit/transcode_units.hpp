// What the bundled transcoders (quantflow/transcoder.hpp) share: the walk over a tensor, the
// two orders of 4-bit codes they convert between, and the tests that prove a re-packed value
// equal to the original.
//
// Blocks sit row after row without padding, so rows whose length is a multiple of a unit of
// Elems elements are one flat run of units: SrcBytes in, DstBytes out per unit. A unit is the
// larger of the two codecs' blocks (e.g. four 16-element MLX nvfp4 groups form one ggml NVFP4
// block).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "codec_kit/fp16.hpp"
#include "quantflow/transcoder.hpp"

namespace quantflow::codec_kit {

// unit(in, out) converts one unit and returns false when it cannot do so exactly.
template <int64_t Elems, size_t SrcBytes, size_t DstBytes, class Unit>
int32_t transcode_units(const void* src, void* dst, int64_t n_rows, int64_t n_per_row, Unit&& unit) {
  if (n_rows < 0 || n_per_row < 0 || n_per_row % Elems != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  const int64_t units = n_rows * (n_per_row / Elems);
  for (int64_t u = 0; u < units; ++u)
    if (!unit(in + u * static_cast<int64_t>(SrcBytes), out + u * static_cast<int64_t>(DstBytes)))
      return QF_CODEC_INEXACT;
  return QF_CODEC_OK;
}

// Element k of a 4-bit bit stream (MLX, AutoAWQ/GPTQ after unpacking): byte k/2, low nibble
// first.
inline uint8_t stream_nibble(const uint8_t* stream, int k) {
  return static_cast<uint8_t>((stream[k / 2] >> (4 * (k % 2))) & 0x0F);
}

// N codes from stream order to ggml's split halves: elements j and j + N/2 share byte j, the
// first in the low nibble.
template <int N>
void stream_to_halves(const uint8_t* stream, uint8_t* halves) {
  for (int j = 0; j < N / 2; ++j)
    halves[j] = static_cast<uint8_t>(stream_nibble(stream, j) | (stream_nibble(stream, j + N / 2) << 4));
}

// The reverse, each code passed through `code_map` (a 16-entry table) on the way.
template <int N>
void halves_to_stream(const uint8_t* halves, uint8_t* stream, const uint8_t* code_map) {
  for (int b = 0; b < N / 2; ++b) {
    const int lo = 2 * b, hi = 2 * b + 1;  // elements of stream byte b
    const uint8_t code_lo = (halves[lo % (N / 2)] >> (4 * (lo / (N / 2)))) & 0x0F;
    const uint8_t code_hi = (halves[hi % (N / 2)] >> (4 * (hi / (N / 2)))) & 0x0F;
    stream[b] = static_cast<uint8_t>(code_map[code_lo] | (code_map[code_hi] << 4));
  }
}

// Codes passed through unchanged.
inline constexpr uint8_t kSameCode[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// The fp16 bits of x when fp16 holds x exactly (NaN never counts as exact).
inline std::optional<uint16_t> fp16_exactly(double x) {
  const float f = static_cast<float>(x);
  if (static_cast<double>(f) != x) return std::nullopt;
  const uint16_t h = fp32_to_fp16(f);
  if (std::bit_cast<uint32_t>(fp16_to_fp32(h)) != std::bit_cast<uint32_t>(f)) return std::nullopt;
  return h;
}

// The exactness contract: the same float bit for bit, except that a zero may change sign
// (ggml's E2M1 table has no negative zero).
inline bool same_value(float a, float b) {
  return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b) || (a == 0.0f && b == 0.0f);
}

}  // namespace quantflow::codec_kit
