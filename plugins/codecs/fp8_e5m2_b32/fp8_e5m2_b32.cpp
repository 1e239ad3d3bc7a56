// FP8_E5M2_B32 (seed format, docs/seed-formats.md §3): one fp16 scale followed by 32
// E5M2 codes, 34 bytes; value = fp8(code) * F(scale). The GGUF type id defaults to 44
// and can be overridden through QUANTFLOW_GGUF_ID_FP8_E5M2_B32.
#include <cstdint>
#include <iterator>

#include "codec_kit/env_id_plugin.hpp"
#include "codec_kit/fp8.hpp"
#include "codec_kit/fp8_scaled_block.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = kit::kFp8B32Elems;

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* /*imatrix*/) {
  return kit::encode_fp8_b32<kit::fp32_to_fp8_e5m2>(src, dst, n_rows, n_per_row, kit::kFp8E5M2Max);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_fp8_b32<kit::fp8_e5m2_to_fp32>(src, dst, n_rows, n_per_row);
}

// Filled once, from the environment, by the entry function before anyone reads it.
quantflow::codec_kit::TypeIdText g_gguf_id = {"44"};
QfContainerId g_ids[] = {{"gguf", g_gguf_id.text}};

const QfCodecDescriptor kCodec = {
    .name = "fp8_e5m2_b32",
    .description = "seed FP8_E5M2_B32: 32 FP8 E5M2 codes with one fp16 scale (8.5 bits per weight)",
    .block_elems = kQK,
    .block_bytes = sizeof(kit::BlockFp8B32),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = g_ids,
    .n_container_ids = std::size(g_ids),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_ENV_ID_CODEC_PLUGIN("codec-fp8_e5m2_b32", "1.0.0", kCodec, "QUANTFLOW_GGUF_ID_FP8_E5M2_B32", g_gguf_id)
