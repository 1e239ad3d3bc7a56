// TQ2_0: 256 ternary elements at two bits each plus one fp16 scale; value = (q - 1) * d.
#include <cmath>
#include <cstdint>
#include <iterator>

#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/fp16.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 256;

// ggml's block_tq2_0: value = (q - 1) * d.
struct BlockTq2_0 {
  uint8_t qs[kQK / 4];  // four 2-bit codes per byte
  kit::Half d;
};
static_assert(sizeof(BlockTq2_0) == kQK / 4 + sizeof(kit::Half));

// quantize_row_tq2_0_ref. Element 128c + 32n + m sits in bits 2n..2n+1 of qs[32c + m].
void encode_block(const float* x, BlockTq2_0& y) {
  const float d = kit::abs_max(x, kQK);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int c = 0; c < 2; ++c) {
    for (int m = 0; m < 32; ++m) {
      int q = 0;
      for (int n = 0; n < 4; ++n) {
        const int t = static_cast<int>(std::lround(x[128 * c + 32 * n + m] * id)) + 1;
        q |= (t & 3) << (2 * n);
      }
      y.qs[32 * c + m] = static_cast<uint8_t>(q);
    }
  }
  kit::store(y.d, d);
}

void decode_block(const BlockTq2_0& b, float* y) {
  const float d = kit::load(b.d);
  for (int c = 0; c < 2; ++c)
    for (int n = 0; n < 4; ++n)
      for (int m = 0; m < 32; ++m) {
        const int q = (b.qs[32 * c + m] >> (2 * n)) & 3;
        y[128 * c + 32 * n + m] = static_cast<float>(q - 1) * d;
      }
}

// The importance matrix is ignored, as in ggml.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockTq2_0>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockTq2_0>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "35"}, {"gguf.file_type", "37"}};

const QfCodecDescriptor kCodec = {
    .name = "tq2_0",
    .description = "ggml TQ2_0: 256 ternary weights at 2 bits with one fp16 scale (2.0625 bits per weight)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockTq2_0),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-tq2_0", "1.0.0", kCodec)
