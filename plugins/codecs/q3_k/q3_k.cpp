// Q3_K: 256-weight super-blocks of sixteen 16-weight sub-blocks with signed 6-bit scales under
// one fp16 super-scale; value = d*(u - 32)*(q - 4) with 3-bit q split into qs (2 bits) and hmask.
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

// ggml's block_q3_K: value = d * (scale - 32) * (q - 4), q's third bit stored in hmask.
struct BlockQ3_K {
  uint8_t hmask[kQK / 8];  // third code bit: element e at bit e / 32 of byte e % 32
  uint8_t qs[kQK / 4];     // low two code bits, laid out as Q2_K's codes
  uint8_t scales[12];      // 6-bit scales (see get_scale)
  kit::Half d;
};
static_assert(sizeof(BlockQ3_K) == kQK / 8 + kQK / 4 + 12 + sizeof(kit::Half));

// Stored 6-bit value u (0..63) of sub-block j; the signed scale is u - 32.
int get_scale(const uint8_t* s, int j) {
  const int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
  const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return lo | (hi << 4);
}

// s must start zeroed: every sub-block ORs its bits in.
void put_scale(uint8_t* s, int j, int u) {
  if (j < 8) {
    s[j] |= static_cast<uint8_t>(u & 0xF);
  } else {
    s[j - 8] |= static_cast<uint8_t>((u & 0xF) << 4);
  }
  s[8 + j % 4] |= static_cast<uint8_t>((u >> 4) << (2 * (j / 4)));
}

// Codes are recomputed against the stored scales; a sub-block whose scale is zero keeps the
// search's codes. Then the third bit moves to hmask and the low two bits to qs.
void requantize_and_pack(const float* x, int8_t* L, BlockQ3_K& y) {
  const float d_all = kit::load(y.d);
  for (int j = 0; j < kNSub; ++j) {
    const float dq = d_all * (get_scale(y.scales, j) - 32);
    if (dq == 0) continue;
    for (int i = 0; i < kSub; ++i) {
      const int l = kit::nearest_int(x[kSub * j + i] / dq);
      L[kSub * j + i] = static_cast<int8_t>((l < -4 ? -4 : (l > 3 ? 3 : l)) + 4);
    }
  }
  uint8_t* hmask = y.hmask;
  std::memset(hmask, 0, sizeof(y.hmask));
  for (int e = 0; e < kQK; ++e) {
    if (L[e] > 3) {
      hmask[e % 32] |= static_cast<uint8_t>(1u << (e / 32));
      L[e] = static_cast<int8_t>(L[e] - 4);
    }
  }
  uint8_t* qs = y.qs;
  for (int n = 0; n < kQK; n += 128)
    for (int l = 0; l < 32; ++l)
      qs[n / 4 + l] =
          static_cast<uint8_t>(L[n + l] | (L[n + l + 32] << 2) | (L[n + l + 64] << 4) | (L[n + l + 96] << 6));
}

// quantize_row_q3_K_ref.
void encode_block_ref(const float* x, BlockQ3_K& y) {
  int8_t L[kQK];
  float scales[kNSub];
  float max_scale = 0, amax = 0;
  for (int j = 0; j < kNSub; ++j) {
    scales[j] = kit::make_q3_quants(kSub, 4, x + kSub * j, L + kSub * j, true);
    if (std::fabs(scales[j]) > amax) {
      amax = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  std::memset(y.scales, 0, sizeof(y.scales));
  if (max_scale != 0) {
    const float iscale = -32.f / max_scale;
    for (int j = 0; j < kNSub; ++j) {
      const int l = static_cast<int8_t>(kit::nearest_int(iscale * scales[j]));
      put_scale(y.scales, j, (l < -32 ? -32 : (l > 31 ? 31 : l)) + 32);
    }
    kit::store(y.d, 1 / iscale);
  } else {
    kit::store(y.d, 0.f);
  }
  requantize_and_pack(x, L, y);
}

// quantize_row_q3_K_impl: imatrix-weighted searches for the codes and for the 6-bit scales.
void encode_block_weighted(const float* x, const float* qw, BlockQ3_K& y) {
  int8_t L[kQK], ls[kNSub];
  float weights[kSub], scales[kNSub], sw[kNSub];
  float sumx2 = 0;
  for (int l = 0; l < kQK; ++l) sumx2 += x[l] * x[l];
  const float sigma2 = 2 * sumx2 / kQK;
  for (int j = 0; j < kNSub; ++j) {
    const float* xs = x + kSub * j;
    for (int l = 0; l < kSub; ++l) weights[l] = qw[kSub * j + l] * std::sqrt(sigma2 + xs[l] * xs[l]);
    float sumw = 0;
    for (int l = 0; l < kSub; ++l) sumw += weights[l];
    sw[j] = sumw;
    scales[j] = kit::make_qx_quants(kSub, 4, xs, L + kSub * j, 1, weights);
  }
  std::memset(y.scales, 0, sizeof(y.scales));
  const float d_block = kit::make_qx_quants(kNSub, 32, scales, ls, 1, sw);
  for (int j = 0; j < kNSub; ++j) put_scale(y.scales, j, ls[j]);
  kit::store(y.d, d_block);
  requantize_and_pack(x, L, y);
}

void decode_block(const BlockQ3_K& b, float* y) {
  const float d_all = kit::load(b.d);
  for (int e = 0; e < kQK; ++e) {
    const int n = e / 128, j = (e % 128) / 32, m = e % 32;
    const int q = (b.qs[32 * n + m] >> (2 * j)) & 3;
    const int h = (b.hmask[e % 32] >> (e / 32)) & 1;
    const float dl = d_all * (get_scale(b.scales, e / 16) - 32);
    y[e] = dl * (q - (h ? 0 : 4));
  }
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockQ3_K>(src, dst, n_rows, n_per_row, imatrix, encode_block_ref,
                                            encode_block_weighted);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockQ3_K>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "11"}, {"gguf.file_type", "12"}};

const QfCodecDescriptor kCodec = {
    .name = "q3_k",
    .description = "ggml Q3_K: 256-weight super-blocks, signed 6-bit scales, 3.4375 bits/weight",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockQ3_K),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q3_k", "1.0.0", kCodec)
