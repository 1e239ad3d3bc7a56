// INT8 per channel: int8 values with one f32 scale per output row, scale = max|w| / 127,
// q = roundf(w / scale) (ties away from zero, as ggml's Q8_0), so |q| <= 127; an all-zero
// row has scale 0. Files hold it as a typed pair: NAME (I8, the original shape) and
// NAME_scale (F32, one value per row); the host splits and joins the pair (QfRowScale).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "quantflow/plugin.hpp"

namespace {

constexpr uint32_t kScaleBytes = 4;

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* /*imatrix*/) {
  if (n_rows < 0 || n_per_row <= 0) return QF_CODEC_BAD_ROW_LENGTH;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* x = src + r * n_per_row;
    uint8_t* row = out + r * (n_per_row + kScaleBytes);
    float amax = 0.0f;
    for (int64_t i = 0; i < n_per_row; ++i) {
      if (!std::isfinite(x[i])) return QF_CODEC_NON_FINITE;
      amax = std::fabs(x[i]) > amax ? std::fabs(x[i]) : amax;
    }
    const float scale = amax / 127.0f;
    for (int64_t i = 0; i < n_per_row; ++i) {
      const float q = scale != 0.0f ? std::round(x[i] / scale) : 0.0f;
      row[i] = static_cast<uint8_t>(static_cast<int8_t>(q > 127.0f ? 127.0f : (q < -127.0f ? -127.0f : q)));
    }
    std::memcpy(row + n_per_row, &scale, kScaleBytes);
  }
  return QF_CODEC_OK;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_rows < 0 || n_per_row <= 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = in + r * (n_per_row + kScaleBytes);
    float scale;
    std::memcpy(&scale, row + n_per_row, kScaleBytes);
    for (int64_t i = 0; i < n_per_row; ++i)
      dst[r * n_per_row + i] = static_cast<float>(static_cast<int8_t>(row[i])) * scale;
  }
  return QF_CODEC_OK;
}

const QfRowScale kRowScale = {
    .scale_bytes_per_row = kScaleBytes,
    .values_dtype = "i8",
    .scale_dtype = "f32",
    .scale_suffix = "_scale",
};

const QfCodecDescriptor kCodec = {
    .name = "int8_channel",
    .description = "INT8 per output channel: int8 values plus one f32 scale per row (max|w|/127)",
    .block_elems = 1,
    .block_bytes = 1,
    .kind = QF_KIND_QUANTIZED,
    .encode = encode,
    .decode = decode,
    .row_scale = &kRowScale,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("int8_channel", "1.0.0", kCodec)
