// Q6_K: 256-weight super-blocks of sixteen 16-weight sub-blocks with signed 8-bit scales under
// one fp16 super-scale; value = d*sc*(q - 32) with 6-bit q split into ql (4 bits) and qh (2 bits).
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

// ggml's block_q6_K: value = d * scales[sub-block] * (q - 32).
struct BlockQ6_K {
  uint8_t ql[kQK / 2];    // low four bits of the codes
  uint8_t qh[kQK / 4];    // high two bits of the codes
  uint8_t scales[kNSub];  // int8 sub-block scales
  kit::Half d;
};
static_assert(sizeof(BlockQ6_K) == kQK / 2 + kQK / 4 + kNSub + sizeof(kit::Half));

// quantize_row_q6_K_ref, or quantize_row_q6_K_impl when qw (the raw imatrix slice) is given:
// the two differ only in the weights of the per-sub-block search.
void encode_block(const float* x, const float* qw, BlockQ6_K& y) {
  int8_t L[kQK];
  float scales[kNSub];
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < kNSub; ++ib) {
    const float scale = kit::make_qx_quants(kSub, 32, x + kSub * ib, L + kSub * ib, 1, qw ? qw + kSub * ib : nullptr);
    scales[ib] = scale;
    if (std::fabs(scale) > max_abs_scale) {
      max_abs_scale = std::fabs(scale);
      max_scale = scale;
    }
  }
  y = BlockQ6_K{};
  if (max_abs_scale < kit::kGroupMaxEps) return;  // all-zero block: every byte 0, d = +0
  const float iscale = -128.f / max_scale;
  kit::store(y.d, 1 / iscale);
  int8_t sc[kNSub];
  for (int ib = 0; ib < kNSub; ++ib) {
    const int l = kit::nearest_int(iscale * scales[ib]);
    sc[ib] = static_cast<int8_t>(l < 127 ? l : 127);
    y.scales[ib] = static_cast<uint8_t>(sc[ib]);
  }
  // Codes are recomputed against the stored scales; a sub-block whose scale is zero keeps the
  // search's codes.
  const float d = kit::load(y.d);
  for (int j = 0; j < kNSub; ++j) {
    const float dq = d * sc[j];
    if (dq == 0) continue;
    for (int i = 0; i < kSub; ++i) {
      const int l = kit::nearest_int(x[kSub * j + i] / dq);
      L[kSub * j + i] = static_cast<int8_t>((l < -32 ? -32 : (l > 31 ? 31 : l)) + 32);
    }
  }
  uint8_t* ql = y.ql;
  uint8_t* qh = y.qh;
  for (int n = 0; n < kQK; n += 128, ql += 64, qh += 32) {
    for (int l = 0; l < 32; ++l) {
      const int q1 = L[n + l], q2 = L[n + l + 32], q3 = L[n + l + 64], q4 = L[n + l + 96];
      ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
      ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
      qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
  }
}

void decode_block(const BlockQ6_K& b, float* y) {
  const float d = kit::load(b.d);
  const uint8_t* ql = b.ql;
  const uint8_t* qh = b.qh;
  const uint8_t* scales = b.scales;
  for (int n = 0; n < kQK; n += 128, ql += 64, qh += 32, scales += 8, y += 128) {
    const auto sc = [&](int i) { return static_cast<int8_t>(scales[i]); };
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * sc(is) * q1;
      y[l + 32] = d * sc(is + 2) * q2;
      y[l + 64] = d * sc(is + 4) * q3;
      y[l + 96] = d * sc(is + 6) * q4;
    }
  }
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockQ6_K>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockQ6_K>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "14"}, {"gguf.file_type", "18"}, {"apr", "14"}};

const QfCodecDescriptor kCodec = {
    .name = "q6_k",
    .description = "ggml Q6_K: 256-weight super-blocks, 8-bit scales per 16 weights, 6.5625 bits/weight",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockQ6_K),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q6_k", "1.0.0", kCodec)
