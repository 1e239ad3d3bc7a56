// Q5_0: 32 elements, fp16 scale, 5-bit codes split into nibbles and a 32-bit mask of fifth
// bits, value = (q - 16) * d.
#include <algorithm>
#include <cstdint>
#include <iterator>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/legacy_blocks.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = kit::kLegacyQK;

// ggml's block_q5_0.
struct BlockQ5_0 {
  kit::Half d;
  uint8_t qh[4];        // fifth bit of element j at bit j of a little-endian u32
  uint8_t qs[kQK / 2];  // low four bits: element j low nibble of byte j, element j + 16 high
};
static_assert(sizeof(BlockQ5_0) == sizeof(kit::Half) + 4 + kQK / 2);

// quantize_row_q5_0_ref.
void encode_block(const float* x, BlockQ5_0& y) {
  const float id = kit::put_symmetric_scale(x, -16.0f, y.d);
  int q[kQK];
  for (int j = 0; j < kQK; ++j) q[j] = std::min(31, static_cast<int>(static_cast<int8_t>(x[j] * id + 16.5f)));
  kit::pack_q5(q, y.qh, y.qs);
}

// quantize_row_q5_0_impl.
void encode_block_weighted(const float* xb, const float* weight, BlockQ5_0& yb) {
  int8_t L[kQK];
  int q[kQK];
  kit::put_symmetric_search(xb, weight, 16, L, yb.d);
  for (int j = 0; j < kQK; ++j) q[j] = L[j];
  kit::pack_q5(q, yb.qh, yb.qs);
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_legacy_rows<BlockQ5_0>(src, dst, n_rows, n_per_row, imatrix, encode_block, encode_block_weighted);
}

void decode_block(const BlockQ5_0& b, float* y) {
  int q[kQK];
  kit::unpack_q5(b.qh, b.qs, q);
  kit::dequantize_symmetric(q, 16, kit::load(b.d), y);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockQ5_0>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "6"}, {"gguf.file_type", "8"}};

const QfCodecDescriptor kCodec = {
    .name = "q5_0",
    .description = "ggml Q5_0: 32 x 5-bit codes with one fp16 scale (5.5 bits per weight)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockQ5_0),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q5_0", "1.0.0", kCodec)
