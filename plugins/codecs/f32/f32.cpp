// F32: the identity encoding, so that float tensors pass through the same codec interface.
#include <cstring>

#include "quantflow/plugin.hpp"

namespace {

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* /*imatrix*/) {
  if (n_rows < 0 || n_per_row < 0) return QF_CODEC_BAD_ROW_LENGTH;
  std::memcpy(dst, src, static_cast<size_t>(n_rows * n_per_row) * sizeof(float));
  return QF_CODEC_OK;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_rows < 0 || n_per_row < 0) return QF_CODEC_BAD_ROW_LENGTH;
  std::memcpy(dst, src, static_cast<size_t>(n_rows * n_per_row) * sizeof(float));
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"gguf", "0"}, {"gguf.file_type", "0"}, {"safetensors", "F32"}};

const QfCodecDescriptor kCodec = {"f32", "IEEE binary32, stored as is", 1, 4, 0, 0, kIds, 3, encode, decode};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-f32", "1.0.0", kCodec)
