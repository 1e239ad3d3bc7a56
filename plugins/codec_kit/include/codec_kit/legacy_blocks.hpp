// Pieces shared by ggml's 32-element "legacy" formats Q4_0, Q4_1, Q5_0 and Q5_1: the nibble
// and fifth-bit layouts, and the imatrix path, which weighs every block by the energy of its
// whole row and therefore has to walk rows rather than independent blocks.
#pragma once

#include <cmath>
#include <cstdint>

#include "quantflow/codec.hpp"
#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/finite.hpp"
#include "codec_kit/quant_search.hpp"

namespace quantflow::codec_kit {

inline constexpr int kLegacyQK = 32;

// Element j and element j + 16 share byte j, the first in the low nibble.
template <class Code>
inline void pack_nibbles(const Code* q, uint8_t* qs) {
  for (int j = 0; j < kLegacyQK / 2; ++j) qs[j] = static_cast<uint8_t>(q[j] | (q[j + kLegacyQK / 2] << 4));
}

inline void unpack_nibbles(const uint8_t* qs, int* q) {
  for (int j = 0; j < kLegacyQK / 2; ++j) {
    q[j] = qs[j] & 0x0F;
    q[j + kLegacyQK / 2] = qs[j] >> 4;
  }
}

// Codes 0..31: the low four bits as nibbles, the fifth bit of element j at bit j of a
// little-endian u32.
inline void pack_q5(const int* q, uint8_t* qh, uint8_t* qs) {
  uint32_t bits = 0;
  for (int j = 0; j < kLegacyQK / 2; ++j) {
    qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + kLegacyQK / 2] & 0x0F) << 4));
    bits |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    bits |= static_cast<uint32_t>((q[j + kLegacyQK / 2] >> 4) & 1) << (j + kLegacyQK / 2);
  }
  for (int k = 0; k < 4; ++k) qh[k] = static_cast<uint8_t>(bits >> (8 * k));
}

inline void unpack_q5(const uint8_t* qh, const uint8_t* qs, int* q) {
  const uint32_t bits = static_cast<uint32_t>(qh[0]) | (static_cast<uint32_t>(qh[1]) << 8) |
                        (static_cast<uint32_t>(qh[2]) << 16) | (static_cast<uint32_t>(qh[3]) << 24);
  unpack_nibbles(qs, q);
  for (int j = 0; j < kLegacyQK; ++j) q[j] |= static_cast<int>(((bits >> j) & 1u) << 4);
}

// Q4_0 / Q5_0 reference scale: the signed extreme over `divisor` (-8 or -16), so the extreme
// maps to code 0 and an all-zero block stores d = -0.0. Writes d, returns its inverse.
inline float put_symmetric_scale(const float* x, float divisor, Half& d_field) {
  float amax;
  const float d = signed_absmax(kLegacyQK, x, &amax) / divisor;
  store(d_field, d);
  return d != 0.0f ? 1.0f / d : 0.0f;
}

// Q4_1 / Q5_1 reference scale: (max - min) / nmax. Writes d and the unrounded min (codes are
// computed against the float min, not the stored one); returns the inverse of d.
inline float put_affine_scale(const float* x, float nmax, Half& d_field, Half& m_field, float* min) {
  float max;
  min_max(x, kLegacyQK, min, &max);
  const float d = (max - *min) / nmax;
  store(d_field, d);
  store(m_field, *min);
  return d != 0.0f ? 1.0f / d : 0.0f;
}

// The weighted searches of Q4_0 / Q5_0 (symmetric, codes offset by nmax) and Q4_1 / Q5_1
// (scale and min, codes 0..nmax); each writes the block's fp16 fields and leaves codes in L.
inline void put_symmetric_search(const float* xb, const float* weight, int nmax, int8_t* L, Half& d_field) {
  store(d_field, make_qx_quants(kLegacyQK, nmax, xb, L, 1, weight));
}

inline void put_affine_search(const float* xb, const float* weight, int nmax, uint8_t* L, Half& d_field,
                              Half& m_field) {
  uint8_t Laux[kLegacyQK];
  float the_min = 0.0f;
  const float d = make_qkx3_quants(kLegacyQK, nmax, xb, weight, L, &the_min, Laux, -0.9f, 0.05f, 36, false);
  store(d_field, d);
  store(m_field, -the_min);
}

inline void dequantize_symmetric(const int* q, int offset, float d, float* y) {
  for (int j = 0; j < kLegacyQK; ++j) y[j] = static_cast<float>(q[j] - offset) * d;
}

inline void dequantize_affine(const int* q, float d, float m, float* y) {
  for (int j = 0; j < kLegacyQK; ++j) y[j] = static_cast<float>(q[j]) * d + m;
}

// quantize_row_q*_impl: each block's weights are imatrix * sqrt(sigma2 + x^2) with sigma2 the
// mean square of the whole row; weighted(xb, weight, yb) encodes one block with them.
template <class Block, class Weighted>
void encode_row_weighted(const float* x, Block* y, int64_t n, const float* qw, Weighted&& weighted) {
  float sum_x2 = 0.0f;
  for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
  const float sigma2 = sum_x2 / static_cast<float>(n);
  float weight[kLegacyQK];
  for (int64_t ib = 0; ib < n / kLegacyQK; ++ib) {
    const float* xb = x + ib * kLegacyQK;
    const float* qwb = qw + ib * kLegacyQK;
    for (int j = 0; j < kLegacyQK; ++j) weight[j] = qwb[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
    weighted(xb, weight, y[ib]);
  }
}

// The encode entry point of a legacy format: ref(x, y) without an imatrix, the row-weighted
// search with one.
template <class Block, class Ref, class Weighted>
int32_t encode_legacy_rows(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix,
                           Ref&& ref, Weighted&& weighted) {
  if (imatrix == nullptr) return encode_blocks<kLegacyQK, Block>(src, dst, n_rows, n_per_row, nullptr, ref);
  if (!splits_into_blocks(n_rows, n_per_row, kLegacyQK)) return QF_CODEC_BAD_ROW_LENGTH;
  if (!all_finite(src, n_rows * n_per_row)) return QF_CODEC_NON_FINITE;
  Block* out = blocks_at<Block>(dst);
  const int64_t blocks_per_row = n_per_row / kLegacyQK;
  for (int64_t r = 0; r < n_rows; ++r)
    encode_row_weighted(src + r * n_per_row, out + r * blocks_per_row, n_per_row, imatrix, weighted);
  return QF_CODEC_OK;
}

}  // namespace quantflow::codec_kit
