// Q8_0: 32 elements, fp16 scale and signed 8-bit codes, value = q * d. The block math is ggml's
// reference (codec_kit/q8_0_block.hpp), run by the kit's SIMD kernels.
#include <cstdint>
#include <iterator>

#include "codec_kit/q8_0_block.hpp"
#include "codec_kit/simd_blocks.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

// The importance matrix is ignored, as in ggml: Q8_0 has no weighted path.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* /*imatrix*/) {
  return kit::encode_block_run<kit::kQ8_0Elems>(src, dst, n_rows, n_per_row, kit::encode_q8_0_run);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_block_run<kit::kQ8_0Elems>(src, dst, n_rows, n_per_row, kit::decode_q8_0_run);
}

const QfContainerId kIds[] = {{"gguf", "8"}, {"gguf.file_type", "7"}};

const QfCodecDescriptor kCodec = {
    .name = "q8_0",
    .description = "ggml Q8_0: 32 x int8 codes with one fp16 scale (8.5 bits per weight)",
    .block_elems = kit::kQ8_0Elems,
    .block_bytes = sizeof(kit::BlockQ8_0),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q8_0", "1.0.0", kCodec)
