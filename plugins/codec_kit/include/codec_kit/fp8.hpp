// Bit-exact FP8 conversions shared by the FP8 codecs (docs/seed-formats.md §1).
//
// E4M3FN: S EEEE MMM, bias 7, subnormals, no infinity, NaN = 0x7F / 0xFF, max 448 (0x7E).
// E5M2:   S EEEEE MM, bias 15, subnormals, inf = 0x7C / 0xFC, NaN = exponent 31 with a
//         non-zero mantissa, max 57344 (0x7B).
//
// fp32 -> fp8 rounds to nearest, ties to even, and saturates every finite value whose
// magnitude rounds above the format's maximum to ±max. Signed zeros are kept. Infinity
// saturates to ±448 in E4M3FN (which has no infinity) and stays ±inf in E5M2. NaN keeps
// its sign: E4M3FN gives 0x7F / 0xFF; E5M2 keeps the top two fp32 payload bits, a payload
// of 0 becoming 0x7E (so the default quiet NaN gives 0x7E and every E5M2 NaN code
// survives decode -> encode). fp8 -> fp32 is exact.
#pragma once

#include <bit>
#include <cstdint>

namespace quantflow::codec_kit {

namespace fp8_detail {

// E exponent bits, M mantissa bits; bias = 2^(E-1) - 1.
template <int E, int M>
struct Fp8Format {
  static constexpr int kBias = (1 << (E - 1)) - 1;
  static constexpr int kMinNormalExp = 1 - kBias;  // unbiased exponent of the smallest normal
  static constexpr bool kHasInf = (E == 5);        // E5M2 is IEEE-like; E4M3FN is not
  // Largest finite magnitude code: E4M3FN 0x7E (exponent 15 is still finite), E5M2 0x7B.
  static constexpr uint32_t kMaxCode = kHasInf ? ((((1u << E) - 2u) << M) | ((1u << M) - 1u)) : 0x7Eu;
  static constexpr uint32_t kInfCode = ((1u << E) - 1u) << M;  // E5M2 only
};

template <int E, int M>
inline float decode(uint8_t code) {
  using F = Fp8Format<E, M>;
  const uint32_t sign = static_cast<uint32_t>(code & 0x80u) << 24;
  const uint32_t exp = (code >> M) & ((1u << E) - 1u);
  const uint32_t man = code & ((1u << M) - 1u);
  uint32_t bits;
  if (F::kHasInf && exp == (1u << E) - 1u) {  // E5M2 inf / NaN: payload kept in the top bits
    bits = sign | 0x7F800000u | (man << (23 - M));
  } else if (!F::kHasInf && (code & 0x7Fu) == 0x7Fu) {  // E4M3FN NaN
    bits = sign | 0x7FC00000u;
  } else if (exp == 0) {  // subnormal or zero: man * 2^(emin - M), exact in float
    const float v =
        static_cast<float>(man) * std::bit_cast<float>(static_cast<uint32_t>(127 + F::kMinNormalExp - M) << 23);
    bits = sign | std::bit_cast<uint32_t>(v);
  } else {
    bits = sign | ((exp - F::kBias + 127u) << 23) | (man << (23 - M));
  }
  return std::bit_cast<float>(bits);
}

template <int E, int M>
inline uint8_t encode(float f) {
  using F = Fp8Format<E, M>;
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint8_t sign = static_cast<uint8_t>((x >> 24) & 0x80u);
  const uint32_t abs = x & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) {  // NaN
    if (!F::kHasInf) return static_cast<uint8_t>(sign | 0x7Fu);
    uint32_t payload = (abs >> (23 - M)) & ((1u << M) - 1u);
    if (payload == 0) payload = 1u << (M - 1);
    return static_cast<uint8_t>(sign | F::kInfCode | payload);
  }
  if (abs == 0x7F800000u) return static_cast<uint8_t>(sign | (F::kHasInf ? F::kInfCode : F::kMaxCode));
  const int e = static_cast<int>(abs >> 23) - 127;  // unbiased; -127 for fp32 zero / subnormal
  if (e >= F::kMinNormalExp) {
    // Anything at or above 2^(emax + 2) saturates; below that the rebias cannot overflow.
    constexpr int kMaxExp = ((1 << E) - 1) - F::kBias;  // largest exponent field, unbiased
    if (e > kMaxExp) return static_cast<uint8_t>(sign | F::kMaxCode);
    constexpr int kShift = 23 - M;
    uint32_t q = (static_cast<uint32_t>(e + F::kBias) << M) | ((abs & 0x7FFFFFu) >> kShift);
    const uint32_t rem = abs & ((1u << kShift) - 1u);
    const uint32_t half = 1u << (kShift - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;  // a mantissa carry bumps the exponent
    if (q > F::kMaxCode) q = F::kMaxCode;
    return static_cast<uint8_t>(sign | q);
  }
  // Subnormal range: value / 2^(emin - M), rounded to nearest even by an integer shift.
  // The value is man24 * 2^(e - 23), so the quotient is man24 >> (23 + emin - M - e).
  if (e < -126) return sign;  // fp32 zero or subnormal: far below the smallest fp8 subnormal
  const int shift = 23 + F::kMinNormalExp - M - e;
  if (shift > 24) return sign;  // below half the smallest subnormal
  const uint32_t man = (abs & 0x7FFFFFu) | 0x800000u;
  uint32_t q = man >> shift;
  const uint32_t rem = man & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;  // may round up to the smallest normal
  return static_cast<uint8_t>(sign | q);
}

}  // namespace fp8_detail

inline constexpr float kFp8E4M3Max = 448.0f;
inline constexpr float kFp8E5M2Max = 57344.0f;

inline float fp8_e4m3_to_fp32(uint8_t code) { return fp8_detail::decode<4, 3>(code); }
inline float fp8_e5m2_to_fp32(uint8_t code) { return fp8_detail::decode<5, 2>(code); }
inline uint8_t fp32_to_fp8_e4m3(float f) { return fp8_detail::encode<4, 3>(f); }
inline uint8_t fp32_to_fp8_e5m2(float f) { return fp8_detail::encode<5, 2>(f); }

}  // namespace quantflow::codec_kit
