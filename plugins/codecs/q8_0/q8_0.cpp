// Q8_0: 32 elements, fp16 scale and signed 8-bit codes, value = q * d.
#include <cmath>
#include <cstdint>
#include <iterator>

#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 32;

// ggml's block_q8_0.
struct BlockQ8_0 {
  kit::Half d;
  uint8_t qs[kQK];  // int8 codes
};
static_assert(sizeof(BlockQ8_0) == sizeof(kit::Half) + kQK);

// quantize_row_q8_0_ref. roundf (ties away from zero) is what ggml uses, not nearest_int.
void encode_block(const float* x, BlockQ8_0& y) {
  const float d = kit::abs_max(x, kQK) / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  kit::store(y.d, d);
  for (int j = 0; j < kQK; ++j) y.qs[j] = static_cast<uint8_t>(static_cast<int8_t>(std::round(x[j] * id)));
}

// The importance matrix is ignored, as in ggml: Q8_0 has no weighted path.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockQ8_0>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

void decode_block(const BlockQ8_0& b, float* y) {
  const float d = kit::load(b.d);
  for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b.qs[j])) * d;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockQ8_0>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "8"}, {"gguf.file_type", "7"}};

const QfCodecDescriptor kCodec = {
    .name = "q8_0",
    .description = "ggml Q8_0: 32 x int8 codes with one fp16 scale (8.5 bits per weight)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockQ8_0),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q8_0", "1.0.0", kCodec)
