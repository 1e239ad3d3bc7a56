// Q5_K: Q4_K's scale layout with 5-bit codes; the fifth bits live in qh.
#include <cstdint>
#include <cstring>
#include <iterator>

#include "codec_kit/block_rows.hpp"
#include "codec_kit/kquant_scale_min.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = kit::kScaleMinQK;
constexpr int kNmax = 31;

// ggml's block_q5_K.
struct BlockQ5_K {
  kit::ScaleMinHead head;  // d, dmin, packed 6-bit scales and mins
  uint8_t qh[kQK / 8];     // fifth bits: bit 2c of byte l for element 64c + l, bit 2c + 1 for 64c + 32 + l
  uint8_t qs[kQK / 2];     // low four bits, laid out as Q4_K's codes
};
static_assert(sizeof(BlockQ5_K) == sizeof(kit::ScaleMinHead) + kQK / 8 + kQK / 2);

// quantize_row_q5_K_ref / _impl, then the low four bits as in Q4_K and the fifth bits in qh.
void encode_block(const float* x, const float* qw, BlockQ5_K& y) {
  uint8_t L[kQK];
  kit::encode_scale_min_head(x, qw, kNmax, -0.5f, 15, L, y.head);
  uint8_t* qh = y.qh;
  uint8_t* ql = y.qs;
  std::memset(qh, 0, sizeof(y.qh));
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

void decode_block(const BlockQ5_K& b, float* y) {
  float dl[kit::kScaleMinNSub], ml[kit::kScaleMinNSub];
  kit::scale_min_multipliers(b.head, dl, ml);
  const uint8_t* q = b.qs;
  const uint8_t* qh = b.qh;
  for (int j = 0; j < kQK / 64; ++j, q += 32) {
    const unsigned u1 = 1u << (2 * j), u2 = 2u << (2 * j);
    for (int l = 0; l < 32; ++l) *y++ = dl[2 * j] * ((q[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - ml[2 * j];
    for (int l = 0; l < 32; ++l) *y++ = dl[2 * j + 1] * ((q[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - ml[2 * j + 1];
  }
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockQ5_K>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockQ5_K>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "13"}, {"gguf.file_type", "17"}};

const QfCodecDescriptor kCodec = {
    .name = "q5_k",
    .description = "ggml Q5_K: 256-weight super-blocks, 6-bit scales and mins, 5.5 bits/weight",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockQ5_K),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q5_k", "1.0.0", kCodec)
