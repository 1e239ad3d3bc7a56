// Q5_1: 32 elements, fp16 scale and minimum, 5-bit codes (nibbles plus a fifth-bit mask),
// value = q * d + m.
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
constexpr int kBlockBytes = 24;

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

void pack(const int* q, uint8_t* y) {
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    y[8 + j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + kQK / 2] & 0x0F) << 4));
    qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q[j + kQK / 2] >> 4) & 1) << (j + kQK / 2);
  }
  for (int k = 0; k < 4; ++k) y[4 + k] = static_cast<uint8_t>(qh >> (8 * k));
}

// quantize_row_q5_1_ref. ggml does not clamp the code here: (x - min) * id + 0.5 stays
// below 32 because min and max are the block's own extremes.
void encode_block(const float* x, uint8_t* y) {
  float min = FLT_MAX;
  float max = -FLT_MAX;
  for (int j = 0; j < kQK; ++j) {
    const float v = x[j];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const float d = (max - min) / 31.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  put_half(y, d);
  put_half(y + 2, min);
  int q[kQK];
  for (int j = 0; j < kQK; ++j) q[j] = static_cast<uint8_t>((x[j] - min) * id + 0.5f);
  pack(q, y);
}

// quantize_row_q5_1_impl: weighted scale-and-offset search over the block.
void encode_row_weighted(const float* x, uint8_t* y, int64_t n, const float* qw) {
  float sum_x2 = 0.0f;
  for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
  const float sigma2 = sum_x2 / static_cast<float>(n);
  float weight[kQK];
  uint8_t L[kQK];
  uint8_t Laux[kQK];
  int q[kQK];
  for (int64_t ib = 0; ib < n / kQK; ++ib) {
    const float* xb = x + ib * kQK;
    const float* qwb = qw + ib * kQK;
    for (int j = 0; j < kQK; ++j) weight[j] = qwb[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
    float the_min = 0.0f;
    const float d =
        quantflow::numeric::make_qkx3_quants(kQK, 31, xb, weight, L, &the_min, Laux, -0.9f, 0.05f, 36, false);
    uint8_t* yb = y + ib * kBlockBytes;
    put_half(yb, d);
    put_half(yb + 2, -the_min);
    for (int j = 0; j < kQK; ++j) q[j] = L[j];
    pack(q, yb);
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
    const uint32_t qh = static_cast<uint32_t>(b[4]) | (static_cast<uint32_t>(b[5]) << 8) |
                        (static_cast<uint32_t>(b[6]) << 16) | (static_cast<uint32_t>(b[7]) << 24);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (b[8 + j] & 0x0F) | static_cast<int>(((qh >> j) & 1u) << 4);
      const int hi = (b[8 + j] >> 4) | static_cast<int>(((qh >> (j + kQK / 2)) & 1u) << 4);
      y[j] = static_cast<float>(lo) * d + m;
      y[j + kQK / 2] = static_cast<float>(hi) * d + m;
    }
  }
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"gguf", "7"}, {"gguf.file_type", "9"}};

const QfCodecDescriptor kCodec = {"q5_1", "ggml Q5_1: 32 x 5-bit codes with fp16 scale and minimum (6 bits per weight)",
                                  kQK,    kBlockBytes,
                                  2,      QF_CODEC_IMATRIX_USED,
                                  kIds,   2,
                                  encode, decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q5_1", "1.0.0", kCodec)
