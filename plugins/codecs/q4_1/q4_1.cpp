// Q4_1: 32 elements, fp16 scale and fp16 minimum, 4-bit codes, value = q * d + m.
#include <algorithm>
#include <cstdint>

#include "quantflow/numeric/block_fields.hpp"
#include "quantflow/numeric/block_rows.hpp"
#include "quantflow/numeric/legacy_blocks.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace qn = quantflow::numeric;

constexpr int kQK = 32;
constexpr int kBlockBytes = 20;

// quantize_row_q4_1_ref.
void encode_block(const float* x, uint8_t* y) {
  float min;
  const float id = qn::put_affine_scale(x, 15.0f, y, &min);
  int q[kQK];
  for (int j = 0; j < kQK; ++j) q[j] = std::min(15, static_cast<int>(static_cast<int8_t>((x[j] - min) * id + 0.5f)));
  qn::pack_nibbles(q, y + 4);
}

// quantize_row_q4_1_impl.
void encode_block_weighted(const float* xb, const float* weight, uint8_t* yb) {
  uint8_t L[kQK];
  qn::put_affine_search(xb, weight, 15, L, yb);
  qn::pack_nibbles(L, yb + 4);
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return qn::encode_legacy_rows<kBlockBytes>(src, dst, n_rows, n_per_row, imatrix, encode_block, encode_block_weighted);
}

void decode_block(const uint8_t* b, float* y) {
  int q[kQK];
  qn::unpack_nibbles(b + 4, q);
  qn::dequantize_affine(q, qn::get_half(b), qn::get_half(b + 2), y);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return qn::decode_blocks<kQK, kBlockBytes>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "3"}, {"gguf.file_type", "3"}};

const QfCodecDescriptor kCodec = {"q4_1", "ggml Q4_1: 32 x 4-bit codes with fp16 scale and minimum (5 bits per weight)",
                                  kQK,    kBlockBytes,
                                  2,      QF_CODEC_IMATRIX_USED,
                                  kIds,   2,
                                  encode, decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q4_1", "1.0.0", kCodec)
