// The element and scale formats of MLX's floating modes (mlx-quant.md §3), with MLX's own
// conventions where they differ from the kit's general-purpose conversions.
#pragma once

#include <cmath>
#include <cstdint>

#include "codec_kit/fp4.hpp"
#include "codec_kit/fp8.hpp"

namespace quantflow::mlx_fp {

namespace kit = quantflow::codec_kit;

inline constexpr float kFp4Max = 6.0f;
inline constexpr float kFp8Max = 448.0f;

// E2M1 values by code; bit 3 is the sign, so code 8 is -0.
inline constexpr float kE2m1Values[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                          -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

// The code whose value is nearest to x, the first code on ties: 2.5 -> 4 (2.0), 0.25 -> 0,
// -0.25 -> 0 (+0, the sign is lost). The kit's search is exactly that with a unit scale (its
// doubled table times 0.5 is the table above, and |v - x| is computed as MLX does).
inline uint8_t nearest_e2m1(float x) { return kit::best_fp4_index(x, 0.5f); }

// E4M3FN as MLX converts to it: round to nearest even on 3 mantissa bits with subnormals,
// |x| >= 464 saturating to 0x7E (448) with the sign kept. Unlike the kit's conversion, NaN
// saturates too (MLX has no path to the NaN code).
inline uint8_t to_fp8(float x) {
  if (std::isnan(x)) return static_cast<uint8_t>((std::signbit(x) ? 0x80u : 0u) | 0x7Eu);
  return kit::fp32_to_fp8_e4m3(x);
}

// MLX ignores E4M3FN's NaN encodings: 0x7F decodes as 480 (exponent 15, mantissa 7).
inline float from_fp8(uint8_t code) {
  if ((code & 0x7Fu) == 0x7Fu) return (code & 0x80u) ? -480.0f : 480.0f;
  return kit::fp8_e4m3_to_fp32(code);
}

// E8M0: 2^(byte - 127); byte 0 is the float subnormal 2^-127 and 255 overflows to infinity.
inline float from_e8m0(uint8_t byte) { return std::ldexp(1.0f, static_cast<int>(byte) - 127); }

}  // namespace quantflow::mlx_fp
