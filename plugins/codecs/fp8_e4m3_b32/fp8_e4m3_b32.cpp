// FP8_E4M3_B32 (seed format, docs/seed-formats.md §3): one fp16 scale followed by 32
// E4M3FN codes, 34 bytes; value = fp8(code) * F(scale). The GGUF type id defaults to 43
// and can be overridden through QUANTFLOW_GGUF_ID_FP8_E4M3_B32.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "quantflow/numeric/env_type_id.hpp"
#include "quantflow/numeric/fp16.hpp"
#include "quantflow/numeric/fp8.hpp"
#include "quantflow/numeric/block_fields.hpp"
#include "quantflow/numeric/block_rows.hpp"
#include "quantflow/numeric/block_extremes.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace qn = quantflow::numeric;

constexpr int kQK = 32;
constexpr int kBlockBytes = 34;
constexpr float kFmtMax = quantflow::numeric::kFp8E4M3Max;
constexpr float kFp16Max = 65504.0f;

uint8_t to_code(float v) { return quantflow::numeric::fp32_to_fp8_e4m3(v); }
float from_code(uint8_t c) { return quantflow::numeric::fp8_e4m3_to_fp32(c); }

// scale = H(min(amax / FMT_MAX, 65504)), raised to the smallest fp16 subnormal (0x0001)
// when it would underflow to 0 for a non-zero block. Elements are encoded as
// fp8(x * (1 / F(scale))): the inverse of the stored, rounded scale, so that decoding
// multiplies by exactly the value the codes were divided by. fp8 rounding is RNE with
// saturation to +-FMT_MAX. A block with amax == 0 is 34 zero bytes.
void encode_block(const float* x, uint8_t* y) {
  const float amax = qn::abs_max(x, kQK);
  if (amax == 0.0f) {
    std::memset(y, 0, kBlockBytes);
    return;
  }
  const float d = amax / kFmtMax;
  uint16_t h = qn::fp32_to_fp16(d < kFp16Max ? d : kFp16Max);
  if (h == 0) h = 1;
  const float inv = 1.0f / qn::fp16_to_fp32(h);
  y[0] = static_cast<uint8_t>(h & 0xFF);
  y[1] = static_cast<uint8_t>(h >> 8);
  for (int j = 0; j < kQK; ++j) y[2 + j] = to_code(x[j] * inv);
}

// The importance matrix is ignored: there is no weighted search.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return qn::encode_blocks<kQK, kBlockBytes>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

void decode_block(const uint8_t* b, float* y) {
  const float d = qn::get_half(b);
  for (int j = 0; j < kQK; ++j) y[j] = from_code(b[2 + j]) * d;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return qn::decode_blocks<kQK, kBlockBytes>(src, dst, n_rows, n_per_row, decode_block);
}

// Filled once, from the environment, by the entry function before anyone reads it.
quantflow::numeric::TypeIdText g_gguf_id = {"43"};
QfContainerId g_ids[] = {{"gguf", g_gguf_id.text}};

const QfCodecDescriptor kCodec = {"fp8_e4m3_b32",
                                  "seed FP8_E4M3_B32: 32 FP8 E4M3FN codes with one fp16 scale (8.5 bits per weight)",
                                  kQK,
                                  kBlockBytes,
                                  2,
                                  0,
                                  g_ids,
                                  1,
                                  encode,
                                  decode};

const QfCodecDescriptor* const kCodecs[] = {&kCodec};
const QfPluginDescriptor kPlugin = {
    QUANTFLOW_ABI_VERSION, "codec-fp8_e4m3_b32", "1.0.0", kCodec.description, kCodecs, 1, nullptr, 0};

}  // namespace

extern "C" QUANTFLOW_PLUGIN_VISIBLE const QfPluginDescriptor* quantflow_plugin_descriptor() {
  static const bool filled = quantflow::numeric::read_env_type_id("QUANTFLOW_GGUF_ID_FP8_E4M3_B32", g_gguf_id);
  (void)filled;
  return &kPlugin;
}
