// Q4_0: 32 elements, one fp16 scale and sixteen bytes of 4-bit codes, value = (q - 8) * d.
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

// ggml's block_q4_0.
struct BlockQ4_0 {
  kit::Half d;
  uint8_t qs[kQK / 2];  // element j in the low nibble of byte j, element j + 16 in its high nibble
};
static_assert(sizeof(BlockQ4_0) == sizeof(kit::Half) + kQK / 2);

// quantize_row_q4_0_ref.
void encode_block(const float* x, BlockQ4_0& y) {
  const float id = kit::put_symmetric_scale(x, -8.0f, y.d);
  int q[kQK];
  for (int j = 0; j < kQK; ++j) q[j] = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
  kit::pack_nibbles(q, y.qs);
}

// quantize_row_q4_0_impl.
void encode_block_weighted(const float* xb, const float* weight, BlockQ4_0& yb) {
  int8_t L[kQK];
  kit::put_symmetric_search(xb, weight, 8, L, yb.d);
  kit::pack_nibbles(L, yb.qs);
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_legacy_rows<BlockQ4_0>(src, dst, n_rows, n_per_row, imatrix, encode_block, encode_block_weighted);
}

void decode_block(const BlockQ4_0& b, float* y) {
  int q[kQK];
  kit::unpack_nibbles(b.qs, q);
  kit::dequantize_symmetric(q, 8, kit::load(b.d), y);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockQ4_0>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "2"}, {"gguf.file_type", "2"}};

const QfCodecDescriptor kCodec = {
    .name = "q4_0",
    .description = "ggml Q4_0: 32 x 4-bit codes with one fp16 scale (4.5 bits per weight)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockQ4_0),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q4_0", "1.0.0", kCodec)
