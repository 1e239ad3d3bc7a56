// F8_E5M2: unscaled FP8 E5M2 elements, one byte each (safetensors dtype F8_E5M2).
// Encode rounds to nearest even and saturates finite values to +-57344; infinity stays
// infinity (0x7C / 0xFC); NaN keeps its sign and the top two payload bits (0x7E for the
// default quiet NaN). Decode is exact.
#include <cstdint>
#include <iterator>

#include "codec_kit/element_rows.hpp"
#include "codec_kit/fp8.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* /*imatrix*/) {
  return kit::encode_u8_elements<kit::fp32_to_fp8_e5m2>(src, dst, n_rows, n_per_row);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_u8_elements<kit::fp8_e5m2_to_fp32>(src, dst, n_rows, n_per_row);
}

const QfContainerId kIds[] = {{"safetensors", "F8_E5M2"}};

const QfCodecDescriptor kCodec = {
    .name = "f8_e5m2",
    .description = "FP8 E5M2 (OCP), round to nearest even, saturating finite values to +-57344",
    .block_elems = 1,
    .block_bytes = 1,
    .kind = QF_KIND_FLOATING,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-f8_e5m2", "1.0.0", kCodec)
