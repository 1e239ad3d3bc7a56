// Q5_1: 32 elements, fp16 scale and minimum, 5-bit codes (nibbles plus a fifth-bit mask),
// value = q * d + m.
#include <cmath>
#include <cstdint>

#include "quantflow/numeric/quant_search.hpp"
#include "quantflow/numeric/block_fields.hpp"
#include "quantflow/numeric/block_extremes.hpp"
#include "quantflow/numeric/block_rows.hpp"
#include "quantflow/numeric/legacy_blocks.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace qn = quantflow::numeric;

constexpr int kQK = 32;
constexpr int kBlockBytes = 24;

// quantize_row_q5_1_ref. ggml does not clamp the code here: (x - min) * id + 0.5 stays
// below 32 because min and max are the block's own extremes.
void encode_block(const float* x, uint8_t* y) {
  float min, max;
  qn::min_max(x, kQK, &min, &max);
  const float d = (max - min) / 31.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  qn::put_half(y, d);
  qn::put_half(y + 2, min);
  int q[kQK];
  for (int j = 0; j < kQK; ++j) q[j] = static_cast<uint8_t>((x[j] - min) * id + 0.5f);
  qn::pack_q5(q, y + 4, y + 8);
}

// quantize_row_q5_1_impl: weighted scale-and-offset search over the block.
void encode_block_weighted(const float* xb, const float* weight, uint8_t* yb) {
  uint8_t L[kQK];
  uint8_t Laux[kQK];
  int q[kQK];
  float the_min = 0.0f;
  const float d = qn::make_qkx3_quants(kQK, 31, xb, weight, L, &the_min, Laux, -0.9f, 0.05f, 36, false);
  qn::put_half(yb, d);
  qn::put_half(yb + 2, -the_min);
  for (int j = 0; j < kQK; ++j) q[j] = L[j];
  qn::pack_q5(q, yb + 4, yb + 8);
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return qn::encode_legacy_rows<kBlockBytes>(src, dst, n_rows, n_per_row, imatrix, encode_block, encode_block_weighted);
}

void decode_block(const uint8_t* b, float* y) {
  const float d = qn::get_half(b);
  const float m = qn::get_half(b + 2);
  int q[kQK];
  qn::unpack_q5(b + 4, b + 8, q);
  for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(q[j]) * d + m;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return qn::decode_blocks<kQK, kBlockBytes>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "7"}, {"gguf.file_type", "9"}};

const QfCodecDescriptor kCodec = {"q5_1", "ggml Q5_1: 32 x 5-bit codes with fp16 scale and minimum (6 bits per weight)",
                                  kQK,    kBlockBytes,
                                  2,      QF_CODEC_IMATRIX_USED,
                                  kIds,   2,
                                  encode, decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q5_1", "1.0.0", kCodec)
