// affine3_g32: a 3-bit affine codec as a quantflow plugin. Each group of 32 weights keeps its
// minimum and a step (both fp16) and one 3-bit code per weight: w = min + code * step.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "quantflow/plugin.hpp"

namespace {

constexpr int kGroup = 32;
constexpr int kCodeBits = 3;
constexpr int kMaxCode = (1 << kCodeBits) - 1;

struct Block {
  uint16_t step;                          // fp16
  uint16_t min;                           // fp16
  uint8_t codes[kGroup * kCodeBits / 8];  // code i in bits 3i..3i+2, least significant first
};
static_assert(sizeof(Block) == 16, "2 + 2 + 12 bytes, no padding");

// IEEE binary16, rounded to nearest even (the SDK has no conversion helpers of its own).
uint16_t to_fp16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const int exponent = static_cast<int>((bits >> 23) & 0xffu) - 127 + 15;
  const uint32_t mantissa = (bits & 0x7fffffu) | 0x800000u;  // with the implicit 1
  if (exponent >= 31) return sign | 0x7c00u;                 // too large (or inf/NaN): infinity
  // Normal results keep 10 of 23 fraction bits; subnormal ones shift further right.
  const int shift = exponent > 0 ? 13 : 14 - exponent;
  if (shift > 24) return sign;
  uint32_t half = mantissa >> shift;
  const uint32_t rest = mantissa & ((1u << shift) - 1), halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
  // The implicit 1 (0x400) adds one to the exponent field, and a rounding carry one more.
  if (exponent > 0) half += static_cast<uint32_t>(exponent - 1) << 10;
  return static_cast<uint16_t>(sign | half);
}

float from_fp16(uint16_t half) {
  const float sign = (half & 0x8000u) ? -1.0f : 1.0f;
  const int exponent = (half >> 10) & 0x1f;
  const int fraction = half & 0x3ff;
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(fraction), -24);
  if (exponent == 31) return fraction ? std::copysign(NAN, sign) : sign * INFINITY;
  return sign * std::ldexp(static_cast<float>(fraction | 0x400), exponent - 25);
}

uint32_t code_at(const Block& block, int i) {
  const int bit = i * kCodeBits, byte = bit / 8;
  uint32_t window = block.codes[byte];
  if (byte + 1 < static_cast<int>(sizeof block.codes)) window |= uint32_t{block.codes[byte + 1]} << 8;
  return (window >> (bit % 8)) & kMaxCode;
}

void set_code(Block& block, int i, uint32_t code) {
  const int bit = i * kCodeBits, byte = bit / 8;
  block.codes[byte] |= static_cast<uint8_t>(code << (bit % 8));
  if (bit % 8 > 8 - kCodeBits) block.codes[byte + 1] |= static_cast<uint8_t>(code >> (8 - bit % 8));
}

// False when the group holds NaN or infinity, or a minimum or step beyond fp16's range.
bool encode_group(const float* x, Block& out) {
  if (!std::all_of(x, x + kGroup, [](float v) { return std::isfinite(v); })) return false;
  const auto [lo, hi] = std::minmax_element(x, x + kGroup);
  Block block{.step = to_fp16((*hi - *lo) / kMaxCode), .min = to_fp16(*lo), .codes = {}};
  const float step = from_fp16(block.step), min = from_fp16(block.min);
  if (!std::isfinite(step) || !std::isfinite(min)) return false;
  for (int i = 0; i < kGroup; ++i) {
    const float code = step > 0 ? std::round((x[i] - min) / step) : 0.0f;
    set_code(block, i, static_cast<uint32_t>(std::clamp(code, 0.0f, float{kMaxCode})));
  }
  out = block;
  return true;
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* /*imatrix*/) {
  if (n_per_row % kGroup != 0) return QF_CODEC_BAD_ROW_LENGTH;
  auto* out = static_cast<std::byte*>(dst);  // blocks need not be aligned: copy them in and out
  for (int64_t g = 0; g < n_rows * (n_per_row / kGroup); ++g) {
    Block block{};
    if (!encode_group(src + g * kGroup, block)) return QF_CODEC_NON_FINITE;
    std::memcpy(out + g * sizeof(Block), &block, sizeof block);
  }
  return QF_CODEC_OK;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_per_row % kGroup != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const std::byte*>(src);
  for (int64_t g = 0; g < n_rows * (n_per_row / kGroup); ++g) {
    Block block;
    std::memcpy(&block, in + g * sizeof(Block), sizeof block);
    const float step = from_fp16(block.step), min = from_fp16(block.min);
    for (int i = 0; i < kGroup; ++i) dst[g * kGroup + i] = min + static_cast<float>(code_at(block, i)) * step;
  }
  return QF_CODEC_OK;
}

const QfCodecDescriptor kCodec = {
    .name = "affine3_g32",
    .description = "3-bit affine: groups of 32 weights, fp16 step and minimum (4 bits per weight)",
    .block_elems = kGroup,
    .block_bytes = sizeof(Block),
    .kind = static_cast<uint32_t>(quantflow::DTypeKind::quantized),
    .flags = 0,
    .container_ids = nullptr,  // no GGUF or safetensors id: containers that store names hold it
    .n_container_ids = 0,
    .encode = encode,
    .decode = decode,
    .row_scale = nullptr,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("affine3_g32", "1.0.0", kCodec)
