// Q4_0: 32 elements, one fp16 scale and sixteen bytes of 4-bit codes, value = (q - 8) * d. The
// reference block math (codec_kit/q4_0_block.hpp) runs in the kit's SIMD kernels; with an
// importance matrix the weighted search (quantize_row_q4_0_impl) runs here, scalar.
#include <cstdint>
#include <iterator>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/legacy_blocks.hpp"
#include "codec_kit/q4_0_block.hpp"
#include "codec_kit/simd_blocks.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

void encode_block_weighted(const float* xb, const float* weight, kit::BlockQ4_0& yb) {
  int8_t L[kit::kLegacyQK];
  kit::put_symmetric_search(xb, weight, 8, L, yb.d);
  kit::pack_nibbles(L, yb.qs);
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  if (imatrix == nullptr) {
    return kit::encode_block_run<kit::kLegacyQK>(src, dst, n_rows, n_per_row, kit::encode_q4_0_run);
  }
  return kit::encode_legacy_rows<kit::BlockQ4_0>(src, dst, n_rows, n_per_row, imatrix, kit::encode_q4_0_block,
                                                 encode_block_weighted);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_block_run<kit::kLegacyQK>(src, dst, n_rows, n_per_row, kit::decode_q4_0_run);
}

const QfContainerId kIds[] = {{"gguf", "2"}, {"gguf.file_type", "2"}};

const QfCodecDescriptor kCodec = {
    .name = "q4_0",
    .description = "ggml Q4_0: 32 x 4-bit codes with one fp16 scale (4.5 bits per weight)",
    .block_elems = kit::kLegacyQK,
    .block_bytes = sizeof(kit::BlockQ4_0),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q4_0", "1.0.0", kCodec)
