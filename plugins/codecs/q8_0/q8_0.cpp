// Q8_0: 32 elements, fp16 scale and signed 8-bit codes, value = q * d.
#include <cmath>
#include <cstdint>

#include "quantflow/numeric/fp16.hpp"
#include "quantflow/plugin.hpp"

namespace {

using quantflow::numeric::fp16_to_fp32;
using quantflow::numeric::fp32_to_fp16;

constexpr int kQK = 32;
constexpr int kBlockBytes = 34;

bool all_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

// quantize_row_q8_0_ref. roundf (ties away from zero) is what ggml uses, not nearest_int.
void encode_block(const float* x, uint8_t* y) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    const float a = std::fabs(x[j]);
    amax = amax > a ? amax : a;
  }
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const uint16_t h = fp32_to_fp16(d);
  y[0] = static_cast<uint8_t>(h & 0xFF);
  y[1] = static_cast<uint8_t>(h >> 8);
  for (int j = 0; j < kQK; ++j) y[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::round(x[j] * id)));
}

// The importance matrix is ignored, as in ggml: Q8_0 has no weighted path.
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
    for (int j = 0; j < kQK; ++j) dst[ib * kQK + j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
  }
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"gguf", "8"}, {"gguf.file_type", "7"}};

const QfCodecDescriptor kCodec = {"q8_0", "ggml Q8_0: 32 x int8 codes with one fp16 scale (8.5 bits per weight)",
                                  kQK,    kBlockBytes,
                                  2,      0,
                                  kIds,   2,
                                  encode, decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q8_0", "1.0.0", kCodec)
