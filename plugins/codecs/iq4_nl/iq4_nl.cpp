// IQ4_NL: 32 weights as 4-bit indices into a fixed non-linear table with one fp16 scale
// (18 bytes), bit-exact with ggml's quantize_iq4_nl / dequantize_row_iq4_nl.
#include <cstdint>
#include <iterator>

#include "quantflow/codec.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/iq4.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int64_t kBlockElems = kit::kIq4nlElems;

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_iq_blocks<kBlockElems, kit::BlockIq4Nl>(src, dst, n_rows, n_per_row, imatrix,
                                                             {.imatrix_required = false, .finite_required = true},
                                                             kit::iq4nl_encode_block);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_iq_blocks<kBlockElems, kit::BlockIq4Nl>(src, dst, n_rows, n_per_row, kit::iq4nl_decode_block);
}

constexpr QfContainerId kIds[] = {{"gguf", "20"}, {"gguf.file_type", "25"}};

constexpr QfCodecDescriptor kCodec = {
    .name = "iq4_nl",
    .description = "IQ4_NL: 4-bit non-linear levels, fp16 scale per 32 (4.5 bpw)",
    .block_elems = kBlockElems,
    .block_bytes = sizeof(kit::BlockIq4Nl),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-iq4_nl", "0.1.0", kCodec)
