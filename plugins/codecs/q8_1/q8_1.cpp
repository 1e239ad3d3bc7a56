// Q8_1: ggml's activation format. Q8_0's codes plus a second fp16 holding d * sum(q), which
// dot products with Q4_1/Q5_1 use to fold in the minimum without a second pass.
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

// ggml's block_q8_1.
struct BlockQ8_1 {
  kit::Half d;
  kit::Half s;      // d * sum(qs)
  uint8_t qs[kQK];  // int8 codes
};
static_assert(sizeof(BlockQ8_1) == 2 * sizeof(kit::Half) + kQK);

// quantize_row_q8_1_ref. The sum uses the float d, not the fp16-rounded one.
void encode_block(const float* x, BlockQ8_1& y) {
  const float d = kit::abs_max(x, kQK) / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  kit::store(y.d, d);
  int sum = 0;
  for (int j = 0; j < kQK; ++j) {
    const int8_t q = static_cast<int8_t>(std::round(x[j] * id));
    y.qs[j] = static_cast<uint8_t>(q);
    sum += q;
  }
  kit::store(y.s, static_cast<float>(sum) * d);
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockQ8_1>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

// s is redundant for reconstruction; only d and the codes matter.
void decode_block(const BlockQ8_1& b, float* y) {
  const float d = kit::load(b.d);
  for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b.qs[j])) * d;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockQ8_1>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "9"}};

const QfCodecDescriptor kCodec = {
    .name = "q8_1",
    .description = "ggml Q8_1: Q8_0 plus an fp16 d*sum(q) (activation format, 9 bits per weight)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockQ8_1),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q8_1", "1.0.0", kCodec)
