// Q4_K: 256-weight super-blocks of eight 32-weight sub-blocks, each with a 6-bit scale and a
// 6-bit min under two fp16 super-scales; value = d*sc*q - dmin*m with 4-bit q.
#include <cstdint>
#include <iterator>

#include "codec_kit/block_rows.hpp"
#include "codec_kit/kquant_scale_min.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = kit::kScaleMinQK;
constexpr int kNmax = 15;

// ggml's block_q4_K.
struct BlockQ4_K {
  kit::ScaleMinHead head;  // d, dmin, packed 6-bit scales and mins
  uint8_t qs[kQK / 2];     // per 64 elements: the first 32 in low nibbles, the next 32 in high
};
static_assert(sizeof(BlockQ4_K) == sizeof(kit::ScaleMinHead) + kQK / 2);

// quantize_row_q4_K_ref / _impl, then the codes two per byte: 64-element chunks, the first 32
// in low nibbles.
void encode_block(const float* x, const float* qw, BlockQ4_K& y) {
  uint8_t L[kQK];
  kit::encode_scale_min_head(x, qw, kNmax, -1.f, 20, L, y.head);
  uint8_t* q = y.qs;
  for (int j = 0; j < kQK; j += 64, q += 32)
    for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
}

void decode_block(const BlockQ4_K& b, float* y) {
  float dl[kit::kScaleMinNSub], ml[kit::kScaleMinNSub];
  kit::scale_min_multipliers(b.head, dl, ml);
  const uint8_t* q = b.qs;
  for (int j = 0; j < kQK / 64; ++j, q += 32) {
    for (int l = 0; l < 32; ++l) *y++ = dl[2 * j] * (q[l] & 0xF) - ml[2 * j];
    for (int l = 0; l < 32; ++l) *y++ = dl[2 * j + 1] * (q[l] >> 4) - ml[2 * j + 1];
  }
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockQ4_K>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockQ4_K>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "12"}, {"gguf.file_type", "15"}, {"apr", "12"}};

const QfCodecDescriptor kCodec = {
    .name = "q4_k",
    .description = "ggml Q4_K: 256-weight super-blocks, 6-bit scales and mins, 4.5 bits/weight",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockQ4_K),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q4_k", "1.0.0", kCodec)
