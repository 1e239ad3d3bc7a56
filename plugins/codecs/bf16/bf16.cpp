// BF16: bfloat16 elements, the top half of a binary32 (ggml_fp32_to_bf16_row_ref).
#include <cstdint>

#include "quantflow/numeric/fp16.hpp"
#include "quantflow/plugin.hpp"

namespace {

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* /*imatrix*/) {
  if (n_rows < 0 || n_per_row < 0) return QF_CODEC_BAD_ROW_LENGTH;
  auto* out = static_cast<uint8_t*>(dst);
  const int64_t n = n_rows * n_per_row;
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = quantflow::numeric::fp32_to_bf16(src[i]);
    out[2 * i] = static_cast<uint8_t>(h & 0xFF);
    out[2 * i + 1] = static_cast<uint8_t>(h >> 8);
  }
  return QF_CODEC_OK;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_rows < 0 || n_per_row < 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const uint8_t*>(src);
  const int64_t n = n_rows * n_per_row;
  for (int64_t i = 0; i < n; ++i)
    dst[i] = quantflow::numeric::bf16_to_fp32(static_cast<uint16_t>(in[2 * i] | (in[2 * i + 1] << 8)));
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"gguf", "30"}, {"gguf.file_type", "32"}, {"safetensors", "BF16"}};

const QfCodecDescriptor kCodec = {
    "bf16", "bfloat16, round to nearest even, NaN kept quiet", 1, 2, 0, 0, kIds, 3, encode, decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-bf16", "1.0.0", kCodec)
