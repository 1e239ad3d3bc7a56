// NVFP4: 64 elements as four 16-element sub-blocks of E2M1 codes, each with a UE4M3 scale.
#include <cmath>
#include <cstdint>

#include "quantflow/numeric/fp4.hpp"
#include "quantflow/plugin.hpp"

namespace {

using quantflow::numeric::best_fp4_index;
using quantflow::numeric::fp32_to_ue4m3;
using quantflow::numeric::kvalues_fp4;
using quantflow::numeric::ue4m3_to_fp32_half;

constexpr int kQK = 64;
constexpr int kSub = 16;
constexpr int kBlockBytes = 36;

bool all_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

// quantize_row_nvfp4_ref. Codes are chosen against the decoded (rounded) scale, so the
// encoder and decoder agree on the grid.
void encode_block(const float* x, uint8_t* y) {
  for (int s = 0; s < kQK / kSub; ++s) {
    const float* xs = x + s * kSub;
    float amax = 0.0f;
    for (int j = 0; j < kSub; ++j)
      if (amax < std::fabs(xs[j])) amax = std::fabs(xs[j]);
    const uint8_t u = fp32_to_ue4m3(amax / 6.0f);
    const float d = ue4m3_to_fp32_half(u);
    y[s] = u;
    for (int j = 0; j < kSub / 2; ++j) {
      const uint8_t lo = best_fp4_index(xs[j], d);
      const uint8_t hi = best_fp4_index(xs[j + kSub / 2], d);
      y[4 + 8 * s + j] = static_cast<uint8_t>(lo | (hi << 4));
    }
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
    float* y = dst + ib * kQK;
    for (int s = 0; s < kQK / kSub; ++s) {
      const float d = ue4m3_to_fp32_half(b[s]);
      for (int j = 0; j < kSub / 2; ++j) {
        const uint8_t q = b[4 + 8 * s + j];
        y[s * kSub + j] = static_cast<float>(kvalues_fp4[q & 0x0F]) * d;
        y[s * kSub + j + kSub / 2] = static_cast<float>(kvalues_fp4[q >> 4]) * d;
      }
    }
  }
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"gguf", "40"}, {"gguf.file_type", "39"}};

const QfCodecDescriptor kCodec = {"nvfp4", "NVFP4: 64 E2M1 codes, a UE4M3 scale per 16 (4.5 bits per weight)",
                                  kQK,     kBlockBytes,
                                  2,       0,
                                  kIds,    2,
                                  encode,  decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-nvfp4", "1.0.0", kCodec)
