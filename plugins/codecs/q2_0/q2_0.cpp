// Q2_0: 64 elements, one fp16 scale and 2-bit codes, value = (q - 1) * d.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "quantflow/numeric/fp16.hpp"
#include "quantflow/plugin.hpp"

namespace {

using quantflow::numeric::fp16_to_fp32;
using quantflow::numeric::fp32_to_fp16;

constexpr int kQK = 64;
constexpr int kBlockBytes = 18;

bool all_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

// quantize_row_q2_0_ref. d is the block's |x| maximum, so codes are -1, 0, +1 in practice;
// code 3 (+2d) is decodable but never produced.
void encode_block(const float* x, uint8_t* y) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    const float a = std::fabs(x[j]);
    if (a > amax) amax = a;
  }
  const float d = amax;
  const float id = d > 0.0f ? 1.0f / d : 0.0f;
  const uint16_t h = fp32_to_fp16(d);
  y[0] = static_cast<uint8_t>(h & 0xFF);
  y[1] = static_cast<uint8_t>(h >> 8);
  std::memset(y + 2, 0, kQK / 4);
  for (int j = 0; j < kQK; ++j) {
    const int q = std::clamp(static_cast<int>(std::round(x[j] * id)) + 1, 0, 3);
    y[2 + j / 4] = static_cast<uint8_t>(y[2 + j / 4] | (q << (2 * (j % 4))));
  }
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
    for (int j = 0; j < kQK; ++j) {
      const int q = (b[2 + j / 4] >> (2 * (j % 4))) & 3;
      dst[ib * kQK + j] = static_cast<float>(q - 1) * d;
    }
  }
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"gguf", "42"}, {"gguf.file_type", "41"}};

const QfCodecDescriptor kCodec = {"q2_0", "ggml Q2_0: 64 x 2-bit codes with one fp16 scale (2.25 bits per weight)",
                                  kQK,    kBlockBytes,
                                  2,      0,
                                  kIds,   2,
                                  encode, decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q2_0", "1.0.0", kCodec)
