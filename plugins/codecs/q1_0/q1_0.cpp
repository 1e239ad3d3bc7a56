// Q1_0: 128 elements, one fp16 magnitude (mean |x|) and one sign bit per element,
// value = bit ? +d : -d. Byte-identical to PrismML's Q1_0_g128.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/fp16.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 128;

// ggml's block_q1_0: value = d for a set bit, -d for a clear one.
struct BlockQ1_0 {
  kit::Half d;
  uint8_t qs[kQK / 8];  // sign bit of element j at bit j % 8 of byte j / 8
};
static_assert(sizeof(BlockQ1_0) == sizeof(kit::Half) + kQK / 8);

// quantize_row_q1_0_ref. The test is x >= 0, so -0.0 counts as non-negative.
void encode_block(const float* x, BlockQ1_0& y) {
  float sum_abs = 0.0f;
  for (int j = 0; j < kQK; ++j) sum_abs += std::fabs(x[j]);
  const float d = sum_abs / static_cast<float>(kQK);
  kit::store(y.d, d);
  std::memset(y.qs, 0, sizeof(y.qs));
  for (int j = 0; j < kQK; ++j)
    if (x[j] >= 0.0f) y.qs[j / 8] = static_cast<uint8_t>(y.qs[j / 8] | (1u << (j % 8)));
}

// The importance matrix is ignored, as in ggml.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockQ1_0>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

void decode_block(const BlockQ1_0& b, float* y) {
  const float d = kit::load(b.d);
  for (int j = 0; j < kQK; ++j) y[j] = ((b.qs[j / 8] >> (j % 8)) & 1) ? d : -d;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockQ1_0>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "41"}, {"gguf.file_type", "40"}};

const QfCodecDescriptor kCodec = {
    .name = "q1_0",
    .description = "ggml Q1_0: 128 sign bits with one fp16 magnitude (1.125 bits per weight)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockQ1_0),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q1_0", "1.0.0", kCodec)
