// Q8_1: ggml's activation format. Q8_0's codes plus a second fp16 holding d * sum(q), which
// dot products with Q4_1/Q5_1 use to fold in the minimum without a second pass.
#include <cmath>
#include <cstdint>

#include "quantflow/numeric/fp16.hpp"
#include "quantflow/plugin.hpp"

namespace {

using quantflow::numeric::fp16_to_fp32;
using quantflow::numeric::fp32_to_fp16;

constexpr int kQK = 32;
constexpr int kBlockBytes = 36;

void put_half(uint8_t* p, float f) {
  const uint16_t h = fp32_to_fp16(f);
  p[0] = static_cast<uint8_t>(h & 0xFF);
  p[1] = static_cast<uint8_t>(h >> 8);
}

bool all_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

// quantize_row_q8_1_ref. The sum uses the float d, not the fp16-rounded one.
void encode_block(const float* x, uint8_t* y) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    const float a = std::fabs(x[j]);
    amax = amax > a ? amax : a;
  }
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  put_half(y, d);
  int sum = 0;
  for (int j = 0; j < kQK; ++j) {
    const int8_t q = static_cast<int8_t>(std::round(x[j] * id));
    y[4 + j] = static_cast<uint8_t>(q);
    sum += q;
  }
  put_half(y + 2, static_cast<float>(sum) * d);
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* /*imatrix*/) {
  if (n_rows < 0 || n_per_row < 0 || n_per_row % kQK != 0) return QF_CODEC_BAD_ROW_LENGTH;
  if (!all_finite(src, n_rows * n_per_row)) return QF_CODEC_NON_FINITE;
  auto* out = static_cast<uint8_t*>(dst);
  const int64_t n_blocks = n_rows * (n_per_row / kQK);
  for (int64_t ib = 0; ib < n_blocks; ++ib) encode_block(src + ib * kQK, out + ib * kBlockBytes);
  return QF_CODEC_OK;
}

// s is redundant for reconstruction; only d and the codes matter.
int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_rows < 0 || n_per_row < 0 || n_per_row % kQK != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const uint8_t*>(src);
  const int64_t n_blocks = n_rows * (n_per_row / kQK);
  for (int64_t ib = 0; ib < n_blocks; ++ib) {
    const uint8_t* b = in + ib * kBlockBytes;
    const float d = fp16_to_fp32(static_cast<uint16_t>(b[0] | (b[1] << 8)));
    for (int j = 0; j < kQK; ++j) dst[ib * kQK + j] = static_cast<float>(static_cast<int8_t>(b[4 + j])) * d;
  }
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"gguf", "9"}};

const QfCodecDescriptor kCodec = {
    "q8_1", "ggml Q8_1: Q8_0 plus an fp16 d*sum(q) (activation format, 9 bits per weight)",
    kQK,    kBlockBytes,
    2,      0,
    kIds,   1,
    encode, decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q8_1", "1.0.0", kCodec)
