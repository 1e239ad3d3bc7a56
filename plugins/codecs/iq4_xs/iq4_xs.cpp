// IQ4_XS: 256 weights as 4-bit indices into the IQ4_NL table, with an fp16 super-scale and
// eight 6-bit block scales (136 bytes), bit-exact with ggml's quantize_iq4_xs /
// dequantize_row_iq4_xs.
#include <cstdint>
#include <iterator>

#include "quantflow/codec.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/iq4.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int64_t kBlockElems = kit::kIq4xsElems;

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_iq_blocks<kBlockElems, kit::BlockIq4Xs>(src, dst, n_rows, n_per_row, imatrix,
                                                             {.imatrix_required = false, .finite_required = true},
                                                             kit::iq4xs_encode_block);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_iq_blocks<kBlockElems, kit::BlockIq4Xs>(src, dst, n_rows, n_per_row, kit::iq4xs_decode_block);
}

constexpr QfContainerId kIds[] = {{"gguf", "23"}, {"gguf.file_type", "30"}};

constexpr QfCodecDescriptor kCodec = {
    .name = "iq4_xs",
    .description = "IQ4_XS: 4-bit non-linear levels, 6-bit scale per 32, fp16 per 256 (4.25 bpw)",
    .block_elems = kBlockElems,
    .block_bytes = sizeof(kit::BlockIq4Xs),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-iq4_xs", "0.1.0", kCodec)
