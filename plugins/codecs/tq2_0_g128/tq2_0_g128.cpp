// TQ2_0_g128 (seed format, docs/seed-formats.md §2): 128 ternary elements at two bits each
// followed by one fp16 scale, 34 bytes; value = (q - 1) * d. Element 32n + m sits in bits
// 2n..2n+1 of qs[m]. The GGUF type id defaults to 144 and can be overridden through
// QUANTFLOW_GGUF_ID_TQ2_0_G128.
#include <cmath>
#include <cstdint>
#include <iterator>

#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/env_id_plugin.hpp"
#include "codec_kit/fp16.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 128;

// The seed TQ2_0_g128 block (docs/seed-formats.md): TQ2_0's layout over 128 elements.
struct BlockTq2_0G128 {
  uint8_t qs[kQK / 4];  // element 32n + m in bits 2n..2n+1 of byte m
  kit::Half d;
};
static_assert(sizeof(BlockTq2_0G128) == kQK / 4 + sizeof(kit::Half));
constexpr float kFp16Max = 65504.0f;

// As TQ2_0: d = max |x|, id = 1/d (of the unrounded d), q = lroundf(x * id) + 1 (ties away
// from zero). The stored scale is H(min(d, 65504)) so a block beyond the fp16 range keeps a
// finite scale instead of an infinite one (whose zero codes would decode to NaN).
void encode_block(const float* x, BlockTq2_0G128& y) {
  const float d = kit::abs_max(x, kQK);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int m = 0; m < 32; ++m) {
    int q = 0;
    for (int n = 0; n < 4; ++n) {
      const int t = static_cast<int>(std::lround(x[32 * n + m] * id)) + 1;
      q |= (t & 3) << (2 * n);
    }
    y.qs[m] = static_cast<uint8_t>(q);
  }
  kit::store(y.d, d < kFp16Max ? d : kFp16Max);
}

void decode_block(const BlockTq2_0G128& b, float* y) {
  const float d = kit::load(b.d);
  for (int n = 0; n < 4; ++n)
    for (int m = 0; m < 32; ++m) {
      const int q = (b.qs[m] >> (2 * n)) & 3;
      y[32 * n + m] = static_cast<float>(q - 1) * d;
    }
}

// The importance matrix is ignored.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockTq2_0G128>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockTq2_0G128>(src, dst, n_rows, n_per_row, decode_block);
}

// Filled once, from the environment, by the entry function before anyone reads it.
quantflow::codec_kit::TypeIdText g_gguf_id = {"144"};
QfContainerId g_ids[] = {{"gguf", g_gguf_id.text}};

const QfCodecDescriptor kCodec = {
    .name = "tq2_0_g128",
    .description = "seed TQ2_0_g128: 128 ternary weights at 2 bits with one fp16 scale (2.125 bits per weight)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockTq2_0G128),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = g_ids,
    .n_container_ids = std::size(g_ids),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_ENV_ID_CODEC_PLUGIN("codec-tq2_0_g128", "1.0.0", kCodec, "QUANTFLOW_GGUF_ID_TQ2_0_G128", g_gguf_id)
