// Q5_K: Q4_K's scale layout with 5-bit codes; the fifth bits live in qh.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "quantflow/numeric/fp16.hpp"
#include "quantflow/numeric/quant_search.hpp"
#include "quantflow/numeric/block_fields.hpp"
#include "quantflow/numeric/block_rows.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace qn = quantflow::numeric;

constexpr int kQK = 256;
constexpr int kSub = 32;
constexpr int kNSub = kQK / kSub;
constexpr int kBlockBytes = 176;
constexpr int kNmax = 31;

// Byte offsets inside a block.
constexpr int kD = 0, kDmin = 2, kScales = 4, kQh = 16, kQs = 48;

void get_scale_min(int j, const uint8_t* s, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// j = 0..3 assign whole bytes before j = 4..7 OR in their top bits, so the order matters.
void pack_scales(const uint8_t* ls, const uint8_t* lm, uint8_t* s) {
  for (int j = 0; j < kNSub; ++j) {
    if (j < 4) {
      s[j] = ls[j];
      s[j + 4] = lm[j];
    } else {
      s[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      s[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      s[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

// Codes are recomputed against the fp16-rounded scales the decoder will see; a sub-block whose
// scale rounds to zero keeps the search's codes.
void requantize_and_pack(const float* x, uint8_t* L, uint8_t* y) {
  const float d = qn::get_half(y + kD);
  const float dmin = qn::get_half(y + kDmin);
  for (int j = 0; j < kNSub; ++j) {
    uint8_t sc, m;
    get_scale_min(j, y + kScales, &sc, &m);
    const float dq = d * sc;
    if (dq == 0) continue;
    const float dm = dmin * m;
    for (int i = 0; i < kSub; ++i) {
      const int l = qn::nearest_int((x[kSub * j + i] + dm) / dq);
      L[kSub * j + i] = static_cast<uint8_t>(l < 0 ? 0 : (l > kNmax ? kNmax : l));
    }
  }
  uint8_t* qh = y + kQh;
  uint8_t* ql = y + kQs;
  std::memset(qh, 0, 32);
  for (int c = 0; c < kQK / 64; ++c, ql += 32) {
    for (int l = 0; l < 32; ++l) {
      int l1 = L[64 * c + l];
      int l2 = L[64 * c + 32 + l];
      if (l1 > 15) {
        l1 -= 16;
        qh[l] |= static_cast<uint8_t>(1u << (2 * c));
      }
      if (l2 > 15) {
        l2 -= 16;
        qh[l] |= static_cast<uint8_t>(2u << (2 * c));
      }
      ql[l] = static_cast<uint8_t>(l1 | (l2 << 4));
    }
  }
}

// quantize_row_q5_K_ref.
void encode_block_ref(const float* x, uint8_t* y) {
  uint8_t L[kQK], Laux[kSub], ls[kNSub], lm[kNSub];
  float weights[kSub], scales[kNSub], mins[kNSub];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < kNSub; ++j) {
    const float* xs = x + kSub * j;
    float sum_x2 = 0;
    for (int l = 0; l < kSub; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < kSub; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = qn::make_qkx2_quants(kSub, kNmax, xs, weights, L + kSub * j, &mins[j], Laux, -0.5f, 0.1f, 15, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < kNSub; ++j) {
    const uint8_t a = static_cast<uint8_t>(qn::nearest_int(inv_scale * scales[j]));
    const uint8_t b = static_cast<uint8_t>(qn::nearest_int(inv_min * mins[j]));
    ls[j] = a < 63 ? a : 63;
    lm[j] = b < 63 ? b : 63;
  }
  pack_scales(ls, lm, y + kScales);
  qn::put_half(y + kD, max_scale / 63.f);
  qn::put_half(y + kDmin, max_min / 63.f);
  requantize_and_pack(x, L, y);
}

// quantize_row_q5_K_impl: imatrix-weighted searches for the codes and for the 6-bit scales.
void encode_block_weighted(const float* x, const float* qw, uint8_t* y) {
  uint8_t L[kQK], Laux[kSub], ls[kNSub], lm[kNSub];
  float weights[kSub], scales[kNSub], mins[kNSub], sw[kNSub];
  float sum_x2 = 0;
  for (int l = 0; l < kQK; ++l) sum_x2 += x[l] * x[l];
  const float sigma2 = 2 * sum_x2 / kQK;
  for (int j = 0; j < kNSub; ++j) {
    const float* xs = x + kSub * j;
    for (int l = 0; l < kSub; ++l) weights[l] = qw[kSub * j + l] * std::sqrt(sigma2 + xs[l] * xs[l]);
    float sumw = 0;
    for (int l = 0; l < kSub; ++l) sumw += weights[l];
    sw[j] = sumw;
    scales[j] = qn::make_qkx3_quants(kSub, kNmax, xs, weights, L + kSub * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
  }
  const float d_block = qn::make_qp_quants(kNSub, 63, scales, ls, sw);
  const float m_block = qn::make_qp_quants(kNSub, 63, mins, lm, sw);
  pack_scales(ls, lm, y + kScales);
  qn::put_half(y + kD, d_block);
  qn::put_half(y + kDmin, m_block);
  requantize_and_pack(x, L, y);
}

void decode_block(const uint8_t* b, float* y) {
  const float d = qn::get_half(b + kD);
  const float dmin = qn::get_half(b + kDmin);
  const uint8_t* q = b + kQs;
  const uint8_t* qh = b + kQh;
  for (int j = 0; j < kQK / 64; ++j, q += 32) {
    const unsigned u1 = 1u << (2 * j), u2 = 2u << (2 * j);
    uint8_t sc, m;
    get_scale_min(2 * j, b + kScales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    get_scale_min(2 * j + 1, b + kScales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * ((q[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * ((q[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
  }
}

// An imatrix switches ggml to its weighted (_impl) search.
void encode_block(const float* x, const float* qw, uint8_t* y) {
  if (qw != nullptr) {
    encode_block_weighted(x, qw, y);
  } else {
    encode_block_ref(x, y);
  }
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return qn::encode_blocks<kQK, kBlockBytes>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return qn::decode_blocks<kQK, kBlockBytes>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "13"}, {"gguf.file_type", "17"}};

const QfCodecDescriptor kCodec = {"q5_k", "ggml Q5_K: 256-weight super-blocks, 6-bit scales and mins, 5.5 bits/weight",
                                  kQK,    kBlockBytes,
                                  2,      QF_CODEC_IMATRIX_USED,
                                  kIds,   2,
                                  encode, decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q5_k", "1.0.0", kCodec)
