// Q4_1: 32 elements, fp16 scale and fp16 minimum, 4-bit codes, value = q * d + m.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "quantflow/numeric/fp16.hpp"
#include "quantflow/numeric/quant_search.hpp"
#include "quantflow/plugin.hpp"

namespace {

using quantflow::numeric::fp16_to_fp32;
using quantflow::numeric::fp32_to_fp16;

constexpr int kQK = 32;
constexpr int kBlockBytes = 20;

void put_half(uint8_t* p, float f) {
  const uint16_t h = fp32_to_fp16(f);
  p[0] = static_cast<uint8_t>(h & 0xFF);
  p[1] = static_cast<uint8_t>(h >> 8);
}

float get_half(const uint8_t* p) { return fp16_to_fp32(static_cast<uint16_t>(p[0] | (p[1] << 8))); }

bool all_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

// quantize_row_q4_1_ref. The minimum is stored unrounded-then-fp16'd and codes are computed
// against the float min, not the stored one.
void encode_block(const float* x, uint8_t* y) {
  float min = FLT_MAX;
  float max = -FLT_MAX;
  for (int j = 0; j < kQK; ++j) {
    const float v = x[j];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const float d = (max - min) / 15.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  put_half(y, d);
  put_half(y + 2, min);
  for (int j = 0; j < kQK / 2; ++j) {
    const int lo = std::min(15, static_cast<int>(static_cast<int8_t>((x[j] - min) * id + 0.5f)));
    const int hi = std::min(15, static_cast<int>(static_cast<int8_t>((x[j + kQK / 2] - min) * id + 0.5f)));
    y[4 + j] = static_cast<uint8_t>(lo | (hi << 4));
  }
}

// quantize_row_q4_1_impl: weighted scale-and-offset search over the block.
void encode_row_weighted(const float* x, uint8_t* y, int64_t n, const float* qw) {
  float sum_x2 = 0.0f;
  for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
  const float sigma2 = sum_x2 / static_cast<float>(n);
  float weight[kQK];
  uint8_t L[kQK];
  uint8_t Laux[kQK];
  for (int64_t ib = 0; ib < n / kQK; ++ib) {
    const float* xb = x + ib * kQK;
    const float* qwb = qw + ib * kQK;
    for (int j = 0; j < kQK; ++j) weight[j] = qwb[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
    float the_min = 0.0f;
    const float d =
        quantflow::numeric::make_qkx3_quants(kQK, 15, xb, weight, L, &the_min, Laux, -0.9f, 0.05f, 36, false);
    uint8_t* yb = y + ib * kBlockBytes;
    put_half(yb, d);
    put_half(yb + 2, -the_min);
    for (int j = 0; j < kQK / 2; ++j) yb[4 + j] = static_cast<uint8_t>(L[j] | (L[j + kQK / 2] << 4));
  }
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  if (n_rows < 0 || n_per_row < 0 || n_per_row % kQK != 0) return QF_CODEC_BAD_ROW_LENGTH;
  if (!all_finite(src, n_rows * n_per_row)) return QF_CODEC_NON_FINITE;
  auto* out = static_cast<uint8_t*>(dst);
  const int64_t row_bytes = n_per_row / kQK * kBlockBytes;
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* x = src + r * n_per_row;
    uint8_t* y = out + r * row_bytes;
    if (imatrix != nullptr) {
      encode_row_weighted(x, y, n_per_row, imatrix);
    } else {
      for (int64_t ib = 0; ib < n_per_row / kQK; ++ib) encode_block(x + ib * kQK, y + ib * kBlockBytes);
    }
  }
  return QF_CODEC_OK;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_rows < 0 || n_per_row < 0 || n_per_row % kQK != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const uint8_t*>(src);
  const int64_t n_blocks = n_rows * (n_per_row / kQK);
  for (int64_t ib = 0; ib < n_blocks; ++ib) {
    const uint8_t* b = in + ib * kBlockBytes;
    float* y = dst + ib * kQK;
    const float d = get_half(b);
    const float m = get_half(b + 2);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = static_cast<float>(b[4 + j] & 0x0F) * d + m;
      y[j + kQK / 2] = static_cast<float>(b[4 + j] >> 4) * d + m;
    }
  }
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"gguf", "3"}, {"gguf.file_type", "3"}};

const QfCodecDescriptor kCodec = {"q4_1", "ggml Q4_1: 32 x 4-bit codes with fp16 scale and minimum (5 bits per weight)",
                                  kQK,    kBlockBytes,
                                  2,      QF_CODEC_IMATRIX_USED,
                                  kIds,   2,
                                  encode, decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q4_1", "1.0.0", kCodec)
