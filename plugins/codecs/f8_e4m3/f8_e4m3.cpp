// F8_E4M3: unscaled FP8 E4M3FN elements, one byte each (safetensors dtype F8_E4M3).
// Encode rounds to nearest even and saturates to +-448; infinity saturates to +-448 (the
// format has no infinity); NaN becomes 0x7F (0xFF when negative). Decode is exact.
#include <cstdint>

#include "quantflow/numeric/fp8.hpp"
#include "quantflow/plugin.hpp"

namespace {

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* /*imatrix*/) {
  if (n_rows < 0 || n_per_row < 0) return QF_CODEC_BAD_ROW_LENGTH;
  auto* out = static_cast<uint8_t*>(dst);
  const int64_t n = n_rows * n_per_row;
  for (int64_t i = 0; i < n; ++i) out[i] = quantflow::numeric::fp32_to_fp8_e4m3(src[i]);
  return QF_CODEC_OK;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_rows < 0 || n_per_row < 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const uint8_t*>(src);
  const int64_t n = n_rows * n_per_row;
  for (int64_t i = 0; i < n; ++i) dst[i] = quantflow::numeric::fp8_e4m3_to_fp32(in[i]);
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"safetensors", "F8_E4M3"}};

const QfCodecDescriptor kCodec = {
    "f8_e4m3", "FP8 E4M3FN (OCP), round to nearest even, saturating to +-448", 1, 1, 0, 0, kIds, 1, encode, decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-f8_e4m3", "1.0.0", kCodec)
