// Q1_0: 128 elements, one fp16 magnitude (mean |x|) and one sign bit per element,
// value = bit ? +d : -d. Byte-identical to PrismML's Q1_0_g128.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "quantflow/numeric/fp16.hpp"
#include "quantflow/plugin.hpp"

namespace {

using quantflow::numeric::fp16_to_fp32;
using quantflow::numeric::fp32_to_fp16;

constexpr int kQK = 128;
constexpr int kBlockBytes = 18;

bool all_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

// quantize_row_q1_0_ref. The test is x >= 0, so -0.0 counts as non-negative.
void encode_block(const float* x, uint8_t* y) {
  float sum_abs = 0.0f;
  for (int j = 0; j < kQK; ++j) sum_abs += std::fabs(x[j]);
  const float d = sum_abs / static_cast<float>(kQK);
  const uint16_t h = fp32_to_fp16(d);
  y[0] = static_cast<uint8_t>(h & 0xFF);
  y[1] = static_cast<uint8_t>(h >> 8);
  std::memset(y + 2, 0, kQK / 8);
  for (int j = 0; j < kQK; ++j)
    if (x[j] >= 0.0f) y[2 + j / 8] = static_cast<uint8_t>(y[2 + j / 8] | (1u << (j % 8)));
}

// The importance matrix is ignored, as in ggml.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* /*imatrix*/) {
  if (n_rows < 0 || n_per_row < 0 || n_per_row % kQK != 0) return QF_CODEC_BAD_ROW_LENGTH;
  if (!all_finite(src, n_rows * n_per_row)) return QF_CODEC_NON_FINITE;
  auto* out = static_cast<uint8_t*>(dst);
  const int64_t n_blocks = n_rows * (n_per_row / kQK);
  for (int64_t ib = 0; ib < n_blocks; ++ib) encode_block(src + ib * kQK, out + ib * kBlockBytes);
  return QF_CODEC_OK;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_rows < 0 || n_per_row < 0 || n_per_row % kQK != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const uint8_t*>(src);
  const int64_t n_blocks = n_rows * (n_per_row / kQK);
  for (int64_t ib = 0; ib < n_blocks; ++ib) {
    const uint8_t* b = in + ib * kBlockBytes;
    const float d = fp16_to_fp32(static_cast<uint16_t>(b[0] | (b[1] << 8)));
    for (int j = 0; j < kQK; ++j) dst[ib * kQK + j] = ((b[2 + j / 8] >> (j % 8)) & 1) ? d : -d;
  }
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"gguf", "41"}, {"gguf.file_type", "40"}};

const QfCodecDescriptor kCodec = {"q1_0", "ggml Q1_0: 128 sign bits with one fp16 magnitude (1.125 bits per weight)",
                                  kQK,    kBlockBytes,
                                  2,      0,
                                  kIds,   2,
                                  encode, decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q1_0", "1.0.0", kCodec)
