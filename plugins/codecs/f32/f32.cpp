// F32: the identity encoding, so that float tensors pass through the same codec interface.
#include <cstring>
#include <iterator>

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

const QfContainerId kIds[] = {{"gguf", "0"}, {"gguf.file_type", "0"}, {"safetensors", "F32"}, {"apr", "0"}};

const QfCodecDescriptor kCodec = {
    .name = "f32",
    .description = "IEEE binary32, stored as is",
    .block_elems = 1,
    .block_bytes = 4,
    .kind = QF_KIND_FLOATING,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-f32", "1.0.0", kCodec)
