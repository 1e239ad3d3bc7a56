// MXFP4 (OCP microscaling): 32 E2M1 codes sharing one E8M0 power-of-two exponent.
#include <cmath>
#include <cstdint>
#include <iterator>

#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/fp4.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 32;

// ggml's block_mxfp4.
struct BlockMxfp4 {
  uint8_t e;            // E8M0 shared exponent
  uint8_t qs[kQK / 2];  // E2M1 codes: element j low nibble of byte j, element j + 16 high
};
static_assert(sizeof(BlockMxfp4) == 1 + kQK / 2);

// quantize_row_mxfp4_ref. The exponent puts amax's binade at E2M1's top binade (4..6), so
// values can round up to 6 but not overflow. glibc's log2f decides the binade, as in ggml.
void encode_block(const float* x, BlockMxfp4& y) {
  const float amax = kit::abs_max(x, kQK);
  // ggml converts the float straight to uint8_t; on x86 that is a truncation to int32 and
  // then to the low byte, which going through int32 reproduces for tiny amax too.
  const uint8_t e =
      amax > 0.0f ? static_cast<uint8_t>(static_cast<int32_t>(std::floor(std::log2(amax)) - 2.0f + 127.0f)) : 0;
  const float d = kit::e8m0_to_fp32_half(e);
  y.e = e;
  for (int j = 0; j < kQK / 2; ++j) {
    const uint8_t lo = kit::best_fp4_index(x[j], d);
    const uint8_t hi = kit::best_fp4_index(x[j + kQK / 2], d);
    y.qs[j] = static_cast<uint8_t>(lo | (hi << 4));
  }
}

// The importance matrix is ignored, as in ggml.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockMxfp4>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

void decode_block(const BlockMxfp4& b, float* y) {
  const float d = kit::e8m0_to_fp32_half(b.e);
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = static_cast<float>(kit::kvalues_fp4[b.qs[j] & 0x0F]) * d;
    y[j + kQK / 2] = static_cast<float>(kit::kvalues_fp4[b.qs[j] >> 4]) * d;
  }
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockMxfp4>(src, dst, n_rows, n_per_row, decode_block);
}

// llama has no MOSTLY_MXFP4 file type; MXFP4_MOE is the one that names it.
const QfContainerId kIds[] = {{"gguf", "39"}, {"gguf.file_type", "38"}};

const QfCodecDescriptor kCodec = {
    .name = "mxfp4",
    .description = "MXFP4: 32 E2M1 codes with a shared E8M0 exponent (4.25 bits per weight)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockMxfp4),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-mxfp4", "1.0.0", kCodec)
