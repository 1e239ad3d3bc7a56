// MLX affine groups (value = scale * q + bias) <-> ggml's legacy types: 4-bit groups are
// Q4_1 blocks (value = q * d + m) with the scale and bias copied; 8-bit groups are Q8_0
// blocks (value = q * d) where the bias is a whole number of scales.
#pragma once

#include <cstdint>
#include <optional>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/transcode_units.hpp"
#include "quantflow/transcoder.hpp"

namespace quantflow::mlx_affine_ggml {

namespace kit = quantflow::codec_kit;

// How an MLX group stores its scale and bias.
enum class Scale { f16, bf16 };

// The value of a stored scale or bias.
template <Scale S>
float value_of(const kit::U16& field) {
  const uint16_t bits = kit::load(field);
  return S == Scale::f16 ? kit::fp16_to_fp32(bits) : kit::bf16_to_fp32(bits);
}

// fp16 bits of the same value, when fp16 holds it: always for f16, for bf16 only within fp16's
// range and precision.
template <Scale S>
std::optional<uint16_t> as_fp16(const kit::U16& field) {
  if constexpr (S == Scale::f16) return kit::load(field);
  return kit::fp16_exactly(value_of<S>(field));
}

// One MLX affine group of Group elements with `Bits`-bit codes as a bit stream.
template <int Group, int Bits>
struct MlxGroup {
  kit::U16 scale;
  kit::U16 bias;
  uint8_t codes[Group * Bits / 8];
};

// ggml's 32-element blocks.
constexpr int kQK = 32;
struct BlockQ4_1 {
  kit::U16 d;           // fp16
  kit::U16 m;           // fp16
  uint8_t qs[kQK / 2];  // element j low nibble of byte j, j + 16 high
};
struct BlockQ8_0 {
  kit::U16 d;       // fp16
  uint8_t qs[kQK];  // int8
};
static_assert(sizeof(BlockQ4_1) == 20 && sizeof(BlockQ8_0) == 34);

// q4_1.cpp
extern const QfTranscoderDescriptor kMlxQ4ToQ4_1[6];
extern const QfTranscoderDescriptor kQ4_1ToMlxQ4;
// q8_0.cpp
extern const QfTranscoderDescriptor kMlxQ8ToQ8_0[6];

}  // namespace quantflow::mlx_affine_ggml
