// IQ4_NL: 32 weights as 4-bit indices into a fixed non-linear table with one fp16 scale
// (18 bytes), bit-exact with ggml's quantize_iq4_nl / dequantize_row_iq4_nl.
#include <cstdint>

#include "quantflow/codec.hpp"
#include "quantflow/numeric/iq4.hpp"
#include "quantflow/plugin.hpp"

namespace {

constexpr int64_t kBlockElems = 32;
constexpr int64_t kBlockBytes = 18;

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  if (n_per_row % kBlockElems != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const int64_t nb = n_per_row / kBlockElems;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* row = src + r * n_per_row;
    for (int64_t b = 0; b < nb; ++b) {
      quantflow::numeric::iq4nl_encode_block(row + b * kBlockElems, imatrix ? imatrix + b * kBlockElems : nullptr,
                                             out + (r * nb + b) * kBlockBytes);
    }
  }
  return QF_CODEC_OK;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_per_row % kBlockElems != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const int64_t n_blocks = n_rows * (n_per_row / kBlockElems);
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t b = 0; b < n_blocks; ++b) {
    quantflow::numeric::iq4nl_decode_block(in + b * kBlockBytes, dst + b * kBlockElems);
  }
  return QF_CODEC_OK;
}

constexpr QfContainerId kIds[] = {{"gguf", "20"}, {"gguf.file_type", "25"}};

constexpr QfCodecDescriptor kCodec = {
    "iq4_nl",
    "IQ4_NL: 4-bit non-linear levels, fp16 scale per 32 (4.5 bpw)",
    kBlockElems,
    kBlockBytes,
    static_cast<uint32_t>(quantflow::DTypeKind::quantized),
    QF_CODEC_IMATRIX_USED,
    kIds,
    2,
    encode,
    decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-iq4_nl", "0.1.0", kCodec)
