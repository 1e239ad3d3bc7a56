// mlx_nvfp4 <-> ggml NVFP4: four 16-element MLX groups are one 64-element ggml block, scale
// bytes (E4M3) copied, codes reordered per 16-element sub-block (MLX: bit stream; ggml:
// element j low nibble / j + 8 high nibble of byte j).
//
// The scale bytes mean the same except where ggml reads them differently: ggml ignores the
// sign bit and decodes 0x7F as 0, MLX keeps the sign and decodes 0x7F (and 0xFF) as ±480.
// MLX -> ggml: a negative scale or 0x7F has no exact image (inexact). ggml -> MLX: every byte
// has one (the table below), so that direction is always exact.
#include <array>
#include <cstdint>

#include "codec_kit/transcode_units.hpp"
#include "mlx_fp_ggml.hpp"

namespace quantflow::mlx_fp_ggml {

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kGroup = 16;
constexpr int kGroups = 4;  // per ggml block

struct BlockMlxNvfp4 {
  uint8_t scale;              // E4M3FN, sign kept
  uint8_t codes[kGroup / 2];  // E2M1, stream order
};
struct BlockNvfp4 {
  uint8_t d[kGroups];                // UE4M3 (sign bit ignored; 0x7F reads as 0)
  uint8_t qs[kGroups * kGroup / 2];  // E2M1, per sub-block s: element j low nibble of qs[8s + j], j + 8 high
};
static_assert(sizeof(BlockMlxNvfp4) == 9 && sizeof(BlockNvfp4) == 36);

constexpr uint8_t kSignBit = 0x80;
constexpr uint8_t kReadsAsZeroInGgml = 0x7F;

// The MLX scale byte with ggml's value of byte b: bit 7 dropped, and 0x7F (zero in ggml) as 0.
constexpr std::array<uint8_t, 256> kGgmlScaleToMlx = [] {
  std::array<uint8_t, 256> table{};
  for (int b = 0; b < 256; ++b) table[b] = b == kReadsAsZeroInGgml ? 0 : static_cast<uint8_t>(b & 0x7F);
  return table;
}();

int32_t mlx_to_ggml(const void* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::transcode_units<kGroup * kGroups, kGroups * sizeof(BlockMlxNvfp4), sizeof(BlockNvfp4)>(
      src, dst, n_rows, n_per_row, [](const uint8_t* in, uint8_t* out) {
        const auto* groups = reinterpret_cast<const BlockMlxNvfp4*>(in);
        auto* to = reinterpret_cast<BlockNvfp4*>(out);
        for (int s = 0; s < kGroups; ++s) {
          const uint8_t scale = groups[s].scale;
          if ((scale & kSignBit) != 0 || scale == kReadsAsZeroInGgml) return false;
          to->d[s] = scale;
          kit::stream_to_halves<kGroup>(groups[s].codes, to->qs + s * kGroup / 2);
        }
        return true;
      });
}

int32_t ggml_to_mlx(const void* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::transcode_units<kGroup * kGroups, sizeof(BlockNvfp4), kGroups * sizeof(BlockMlxNvfp4)>(
      src, dst, n_rows, n_per_row, [](const uint8_t* in, uint8_t* out) {
        const auto* from = reinterpret_cast<const BlockNvfp4*>(in);
        auto* groups = reinterpret_cast<BlockMlxNvfp4*>(out);
        for (int s = 0; s < kGroups; ++s) {
          groups[s].scale = kGgmlScaleToMlx[from->d[s]];
          kit::halves_to_stream<kGroup>(from->qs + s * kGroup / 2, groups[s].codes, kGgmlCodeToMlx);
        }
        return true;
      });
}

}  // namespace

const QfTranscoderDescriptor kMlxNvfp4ToNvfp4 = {
    .from = "mlx_nvfp4",
    .to = "nvfp4",
    .description = "four MLX nvfp4 groups as one ggml NVFP4 block: scale bytes copied, nibbles reordered",
    .transcode = mlx_to_ggml,
};

const QfTranscoderDescriptor kNvfp4ToMlxNvfp4 = {
    .from = "nvfp4",
    .to = "mlx_nvfp4",
    .description = "a ggml NVFP4 block as four MLX nvfp4 groups: scale bytes as ggml reads them, nibbles reordered",
    .transcode = ggml_to_mlx,
    .flags = QF_TRANSCODE_ALWAYS_EXACT,
};

}  // namespace quantflow::mlx_fp_ggml
