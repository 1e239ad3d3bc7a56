// TQ2_0: 256 ternary elements at two bits each plus one fp16 scale; value = (q - 1) * d.
#include <cmath>
#include <cstdint>

#include "quantflow/numeric/fp16.hpp"
#include "quantflow/plugin.hpp"

namespace {

using quantflow::numeric::fp16_to_fp32;
using quantflow::numeric::fp32_to_fp16;

constexpr int kQK = 256;
constexpr int kBlockBytes = 66;

bool all_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

// quantize_row_tq2_0_ref. Element 128c + 32n + m sits in bits 2n..2n+1 of qs[32c + m].
void encode_block(const float* x, uint8_t* y) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    const float a = std::fabs(x[j]);
    amax = amax > a ? amax : a;
  }
  const float d = amax;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int c = 0; c < 2; ++c) {
    for (int m = 0; m < 32; ++m) {
      int q = 0;
      for (int n = 0; n < 4; ++n) {
        const int t = static_cast<int>(std::lround(x[128 * c + 32 * n + m] * id)) + 1;
        q |= (t & 3) << (2 * n);
      }
      y[32 * c + m] = static_cast<uint8_t>(q);
    }
  }
  const uint16_t h = fp32_to_fp16(d);
  y[64] = static_cast<uint8_t>(h & 0xFF);
  y[65] = static_cast<uint8_t>(h >> 8);
}

void decode_block(const uint8_t* b, float* y) {
  const float d = fp16_to_fp32(static_cast<uint16_t>(b[64] | (b[65] << 8)));
  for (int c = 0; c < 2; ++c)
    for (int n = 0; n < 4; ++n)
      for (int m = 0; m < 32; ++m) {
        const int q = (b[32 * c + m] >> (2 * n)) & 3;
        y[128 * c + 32 * n + m] = static_cast<float>(q - 1) * d;
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
  for (int64_t ib = 0; ib < n_blocks; ++ib) decode_block(in + ib * kBlockBytes, dst + ib * kQK);
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"gguf", "35"}, {"gguf.file_type", "37"}};

const QfCodecDescriptor kCodec = {
    "tq2_0", "ggml TQ2_0: 256 ternary weights at 2 bits with one fp16 scale (2.0625 bits per weight)",
    kQK,     kBlockBytes,
    2,       0,
    kIds,    2,
    encode,  decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-tq2_0", "1.0.0", kCodec)
