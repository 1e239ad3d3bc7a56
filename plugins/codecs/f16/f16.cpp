// F16: IEEE binary16 elements (ggml_fp32_to_fp16_row / ggml_fp16_to_fp32_row).
#include <cstdint>
#include <iterator>

#include "codec_kit/element_rows.hpp"
#include "codec_kit/fp16.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* /*imatrix*/) {
  return kit::encode_u16_elements<kit::fp32_to_fp16>(src, dst, n_rows, n_per_row);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_u16_elements<kit::fp16_to_fp32>(src, dst, n_rows, n_per_row);
}

const QfContainerId kIds[] = {{"gguf", "1"}, {"gguf.file_type", "1"}, {"safetensors", "F16"}, {"apr", "1"}};

const QfCodecDescriptor kCodec = {
    .name = "f16",
    .description = "IEEE binary16, round to nearest even",
    .block_elems = 1,
    .block_bytes = 2,
    .kind = QF_KIND_FLOATING,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-f16", "1.0.0", kCodec)
