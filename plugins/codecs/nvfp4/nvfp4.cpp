// NVFP4: 64 elements as four 16-element sub-blocks of E2M1 codes, each with a UE4M3 scale.
#include <cstdint>
#include <iterator>

#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/fp4.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 64;
constexpr int kSub = 16;

// ggml's block_nvfp4: one UE4M3 scale per 16 elements.
struct BlockNvfp4 {
  uint8_t d[kQK / kSub];  // UE4M3 scales
  uint8_t qs[kQK / 2];    // E2M1 codes, 8 bytes per sub-block: element j low nibble, j + 8 high
};
static_assert(sizeof(BlockNvfp4) == kQK / kSub + kQK / 2);

// quantize_row_nvfp4_ref. Codes are chosen against the decoded (rounded) scale, so the
// encoder and decoder agree on the grid.
void encode_block(const float* x, BlockNvfp4& y) {
  for (int s = 0; s < kQK / kSub; ++s) {
    const float* xs = x + s * kSub;
    const uint8_t u = kit::fp32_to_ue4m3(kit::abs_max(xs, kSub) / 6.0f);
    const float d = kit::ue4m3_to_fp32_half(u);
    y.d[s] = u;
    for (int j = 0; j < kSub / 2; ++j) {
      const uint8_t lo = kit::best_fp4_index(xs[j], d);
      const uint8_t hi = kit::best_fp4_index(xs[j + kSub / 2], d);
      y.qs[8 * s + j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

// The importance matrix is ignored, as in ggml.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockNvfp4>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

void decode_block(const BlockNvfp4& b, float* y) {
  for (int s = 0; s < kQK / kSub; ++s) {
    const float d = kit::ue4m3_to_fp32_half(b.d[s]);
    for (int j = 0; j < kSub / 2; ++j) {
      const uint8_t q = b.qs[8 * s + j];
      y[s * kSub + j] = static_cast<float>(kit::kvalues_fp4[q & 0x0F]) * d;
      y[s * kSub + j + kSub / 2] = static_cast<float>(kit::kvalues_fp4[q >> 4]) * d;
    }
  }
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockNvfp4>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "40"}, {"gguf.file_type", "39"}};

const QfCodecDescriptor kCodec = {
    .name = "nvfp4",
    .description = "NVFP4: 64 E2M1 codes, a UE4M3 scale per 16 (4.5 bits per weight)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockNvfp4),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-nvfp4", "1.0.0", kCodec)
