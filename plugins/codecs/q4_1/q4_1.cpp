// Q4_1: 32 elements, fp16 scale and fp16 minimum, 4-bit codes, value = q * d + m.
#include <algorithm>
#include <cstdint>
#include <iterator>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/legacy_blocks.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 32;
constexpr int kBlockBytes = 20;

// quantize_row_q4_1_ref.
void encode_block(const float* x, uint8_t* y) {
  float min;
  const float id = kit::put_affine_scale(x, 15.0f, y, &min);
  int q[kQK];
  for (int j = 0; j < kQK; ++j) q[j] = std::min(15, static_cast<int>(static_cast<int8_t>((x[j] - min) * id + 0.5f)));
  kit::pack_nibbles(q, y + 4);
}

// quantize_row_q4_1_impl.
void encode_block_weighted(const float* xb, const float* weight, uint8_t* yb) {
  uint8_t L[kQK];
  kit::put_affine_search(xb, weight, 15, L, yb);
  kit::pack_nibbles(L, yb + 4);
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_legacy_rows<kBlockBytes>(src, dst, n_rows, n_per_row, imatrix, encode_block,
                                              encode_block_weighted);
}

void decode_block(const uint8_t* b, float* y) {
  int q[kQK];
  kit::unpack_nibbles(b + 4, q);
  kit::dequantize_affine(q, kit::get_half(b), kit::get_half(b + 2), y);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, kBlockBytes>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "3"}, {"gguf.file_type", "3"}};

const QfCodecDescriptor kCodec = {
    .name = "q4_1",
    .description = "ggml Q4_1: 32 x 4-bit codes with fp16 scale and minimum (5 bits per weight)",
    .block_elems = kQK,
    .block_bytes = kBlockBytes,
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q4_1", "1.0.0", kCodec)
