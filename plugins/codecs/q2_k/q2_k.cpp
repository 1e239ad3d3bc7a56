// Q2_K: 256-weight super-blocks of sixteen 16-weight sub-blocks, each with a 4-bit scale and a
// 4-bit min under two fp16 super-scales; value = d*sc*q - dmin*m with 2-bit q.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/quant_search.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 256;
constexpr int kSub = 16;
constexpr int kNSub = kQK / kSub;

// ggml's block_q2_K: value = d * (scale & 0xF) * q - dmin * (scale >> 4).
struct BlockQ2_K {
  uint8_t scales[kNSub];  // per sub-block: 4-bit scale (low) and 4-bit min (high)
  uint8_t qs[kQK / 4];    // 2-bit codes, element 128n + 32j + m in bits 2j of byte 32n + m
  kit::Half d;
  kit::Half dmin;
};
static_assert(sizeof(BlockQ2_K) == kNSub + kQK / 4 + 2 * sizeof(kit::Half));

// Codes are recomputed against the fp16-rounded scales the decoder will see; a sub-block whose
// scale is zero keeps the search's codes.
void requantize_and_pack(const float* x, uint8_t* L, BlockQ2_K& y) {
  const float d = kit::load(y.d);
  const float dmin = kit::load(y.dmin);
  const uint8_t* sc = y.scales;
  for (int j = 0; j < kNSub; ++j) {
    const float dq = d * (sc[j] & 0xF);
    if (dq == 0) continue;
    const float dm = dmin * (sc[j] >> 4);
    for (int i = 0; i < kSub; ++i) {
      const int l = kit::nearest_int((x[kSub * j + i] + dm) / dq);
      L[kSub * j + i] = static_cast<uint8_t>(l < 0 ? 0 : (l > 3 ? 3 : l));
    }
  }
  uint8_t* qs = y.qs;
  for (int n = 0; n < kQK; n += 128)
    for (int l = 0; l < 32; ++l)
      qs[n / 4 + l] =
          static_cast<uint8_t>(L[n + l] | (L[n + l + 32] << 2) | (L[n + l + 64] << 4) | (L[n + l + 96] << 6));
}

// quantize_row_q2_K_ref.
void encode_block_ref(const float* x, BlockQ2_K& y) {
  uint8_t L[kQK], Laux[kSub];
  float weights[kSub], scales[kNSub], mins[kNSub];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < kNSub; ++j) {
    const float* xs = x + kSub * j;
    for (int l = 0; l < kSub; ++l) weights[l] = std::fabs(xs[l]);
    scales[j] = kit::make_qkx2_quants(kSub, 3, xs, weights, L + kSub * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  uint8_t* sc = y.scales;
  std::memset(sc, 0, sizeof(y.scales));
  // The nibbles are not clamped: the largest value maps to exactly 15 by construction.
  if (max_scale > 0) {
    const float iscale = 15.f / max_scale;
    for (int j = 0; j < kNSub; ++j) sc[j] = static_cast<uint8_t>(kit::nearest_int(iscale * scales[j]));
  }
  kit::store(y.d, max_scale > 0 ? max_scale / 15.f : 0.f);
  if (max_min > 0) {
    const float iscale = 15.f / max_min;
    for (int j = 0; j < kNSub; ++j) sc[j] |= static_cast<uint8_t>(kit::nearest_int(iscale * mins[j]) << 4);
  }
  kit::store(y.dmin, max_min > 0 ? max_min / 15.f : 0.f);
  requantize_and_pack(x, L, y);
}

// quantize_row_q2_K_impl: imatrix-weighted searches for the codes and for the 4-bit scales.
void encode_block_weighted(const float* x, const float* qw, BlockQ2_K& y) {
  uint8_t L[kQK], Laux[kSub], ls[kNSub], lm[kNSub];
  float weights[kSub], scales[kNSub], mins[kNSub], sw[kNSub];
  float sumx2 = 0;
  for (int l = 0; l < kQK; ++l) sumx2 += x[l] * x[l];
  const float sigma2 = sumx2 / kQK;  // unlike Q3_K..Q5_K, no factor 2 here
  for (int j = 0; j < kNSub; ++j) {
    const float* xs = x + kSub * j;
    for (int l = 0; l < kSub; ++l) weights[l] = qw[kSub * j + l] * std::sqrt(sigma2 + xs[l] * xs[l]);
    float sumw = 0;
    for (int l = 0; l < kSub; ++l) sumw += weights[l];
    sw[j] = sumw;
    scales[j] = kit::make_qkx3_quants(kSub, 3, xs, weights, L + kSub * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
  }
  const float dm = kit::make_qp_quants(kNSub, 15, scales, ls, sw);
  const float mm = kit::make_qp_quants(kNSub, 15, mins, lm, sw);
  kit::store(y.d, dm);
  kit::store(y.dmin, mm);
  for (int j = 0; j < kNSub; ++j) y.scales[j] = static_cast<uint8_t>(ls[j] | (lm[j] << 4));
  requantize_and_pack(x, L, y);
}

void decode_block(const BlockQ2_K& b, float* y) {
  const float d = kit::load(b.d);
  const float dmin = kit::load(b.dmin);
  const uint8_t* sc = b.scales;
  for (int e = 0; e < kQK; ++e) {
    const int n = e / 128, j = (e % 128) / 32, m = e % 32;
    const int q = (b.qs[32 * n + m] >> (2 * j)) & 3;
    const uint8_t s = sc[e / 16];
    const float dl = d * (s & 0xF);
    const float ml = dmin * (s >> 4);
    y[e] = dl * q - ml;
  }
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockQ2_K>(src, dst, n_rows, n_per_row, imatrix, encode_block_ref,
                                            encode_block_weighted);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockQ2_K>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "10"}, {"gguf.file_type", "10"}};

const QfCodecDescriptor kCodec = {
    .name = "q2_k",
    .description = "ggml Q2_K: 256-weight super-blocks, 4-bit scales and mins, 2.625 bits/weight",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockQ2_K),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q2_k", "1.0.0", kCodec)
