// Q5_1: 32 elements, fp16 scale and minimum, 5-bit codes (nibbles plus a fifth-bit mask),
// value = q * d + m.
#include <cstdint>
#include <iterator>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/legacy_blocks.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = kit::kLegacyQK;

// ggml's block_q5_1: value = q * d + m.
struct BlockQ5_1 {
  kit::Half d;
  kit::Half m;
  uint8_t qh[4];        // fifth bit of element j at bit j of a little-endian u32
  uint8_t qs[kQK / 2];  // low four bits: element j low nibble of byte j, element j + 16 high
};
static_assert(sizeof(BlockQ5_1) == 2 * sizeof(kit::Half) + 4 + kQK / 2);

// quantize_row_q5_1_ref. ggml does not clamp the code here: (x - min) * id + 0.5 stays
// below 32 because min and max are the block's own extremes.
void encode_block(const float* x, BlockQ5_1& y) {
  float min;
  const float id = kit::put_affine_scale(x, 31.0f, y.d, y.m, &min);
  int q[kQK];
  for (int j = 0; j < kQK; ++j) q[j] = static_cast<uint8_t>((x[j] - min) * id + 0.5f);
  kit::pack_q5(q, y.qh, y.qs);
}

// quantize_row_q5_1_impl.
void encode_block_weighted(const float* xb, const float* weight, BlockQ5_1& yb) {
  uint8_t L[kQK];
  int q[kQK];
  kit::put_affine_search(xb, weight, 31, L, yb.d, yb.m);
  for (int j = 0; j < kQK; ++j) q[j] = L[j];
  kit::pack_q5(q, yb.qh, yb.qs);
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_legacy_rows<BlockQ5_1>(src, dst, n_rows, n_per_row, imatrix, encode_block, encode_block_weighted);
}

void decode_block(const BlockQ5_1& b, float* y) {
  int q[kQK];
  kit::unpack_q5(b.qh, b.qs, q);
  kit::dequantize_affine(q, kit::load(b.d), kit::load(b.m), y);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockQ5_1>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "7"}, {"gguf.file_type", "9"}};

const QfCodecDescriptor kCodec = {
    .name = "q5_1",
    .description = "ggml Q5_1: 32 x 5-bit codes with fp16 scale and minimum (6 bits per weight)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockQ5_1),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q5_1", "1.0.0", kCodec)
