// Q2_0: 64 elements, one fp16 scale and 2-bit codes, value = (q - 1) * d.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/fp16.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 64;

// ggml's block_q2_0: value = (q - 1) * d.
struct BlockQ2_0 {
  kit::Half d;
  uint8_t qs[kQK / 4];  // code of element j in bits 2 * (j % 4) of byte j / 4
};
static_assert(sizeof(BlockQ2_0) == sizeof(kit::Half) + kQK / 4);

// quantize_row_q2_0_ref. d is the block's |x| maximum, so codes are -1, 0, +1 in practice;
// code 3 (+2d) is decodable but never produced.
void encode_block(const float* x, BlockQ2_0& y) {
  const float d = kit::abs_max(x, kQK);
  const float id = d > 0.0f ? 1.0f / d : 0.0f;
  kit::store(y.d, d);
  std::memset(y.qs, 0, sizeof(y.qs));
  for (int j = 0; j < kQK; ++j) {
    const int q = std::clamp(static_cast<int>(std::round(x[j] * id)) + 1, 0, 3);
    y.qs[j / 4] = static_cast<uint8_t>(y.qs[j / 4] | (q << (2 * (j % 4))));
  }
}

// The importance matrix is ignored, as in ggml.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockQ2_0>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

void decode_block(const BlockQ2_0& b, float* y) {
  const float d = kit::load(b.d);
  for (int j = 0; j < kQK; ++j) {
    const int q = (b.qs[j / 4] >> (2 * (j % 4))) & 3;
    y[j] = static_cast<float>(q - 1) * d;
  }
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockQ2_0>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "42"}, {"gguf.file_type", "41"}};

const QfCodecDescriptor kCodec = {
    .name = "q2_0",
    .description = "ggml Q2_0: 64 x 2-bit codes with one fp16 scale (2.25 bits per weight)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockQ2_0),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q2_0", "1.0.0", kCodec)
