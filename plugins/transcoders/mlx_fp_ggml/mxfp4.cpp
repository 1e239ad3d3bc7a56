// mlx_mxfp4 <-> ggml MXFP4: one 32-element group is one block, with the same E8M0 scale byte
// (2^(e-127)) and E2M1 codes; MLX keeps the codes as a bit stream, ggml as split halves.
//
// Scale byte 255 is the one byte the two decoders read differently: MLX computes 2^128 first
// (infinity; infinity or NaN for every code), ggml halves the scale and doubles the codes
// (finite for codes of magnitude 0 and 0.5). No encoder writes it; it is reported as inexact.
#include <cstdint>

#include "codec_kit/transcode_units.hpp"
#include "mlx_fp_ggml.hpp"

namespace quantflow::mlx_fp_ggml {

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kGroup = 32;
constexpr uint8_t kUnreadableScale = 255;

struct BlockMlxMxfp4 {
  uint8_t scale;              // E8M0
  uint8_t codes[kGroup / 2];  // E2M1, stream order: element 2b low nibble of byte b, 2b + 1 high
};
struct BlockMxfp4 {
  uint8_t e;               // E8M0
  uint8_t qs[kGroup / 2];  // E2M1, element j low nibble of byte j, j + 16 high
};
static_assert(sizeof(BlockMlxMxfp4) == 17 && sizeof(BlockMxfp4) == 17);

int32_t mlx_to_ggml(const void* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::transcode_units<kGroup, sizeof(BlockMlxMxfp4), sizeof(BlockMxfp4)>(
      src, dst, n_rows, n_per_row, [](const uint8_t* in, uint8_t* out) {
        const auto* from = reinterpret_cast<const BlockMlxMxfp4*>(in);
        auto* to = reinterpret_cast<BlockMxfp4*>(out);
        if (from->scale == kUnreadableScale) return false;
        to->e = from->scale;
        kit::stream_to_halves<kGroup>(from->codes, to->qs);
        return true;
      });
}

int32_t ggml_to_mlx(const void* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::transcode_units<kGroup, sizeof(BlockMxfp4), sizeof(BlockMlxMxfp4)>(
      src, dst, n_rows, n_per_row, [](const uint8_t* in, uint8_t* out) {
        const auto* from = reinterpret_cast<const BlockMxfp4*>(in);
        auto* to = reinterpret_cast<BlockMlxMxfp4*>(out);
        if (from->e == kUnreadableScale) return false;
        to->scale = from->e;
        kit::halves_to_stream<kGroup>(from->qs, to->codes, kGgmlCodeToMlx);
        return true;
      });
}

}  // namespace

const QfTranscoderDescriptor kMlxMxfp4ToMxfp4 = {
    .from = "mlx_mxfp4",
    .to = "mxfp4",
    .description = "MLX mxfp4 groups as ggml MXFP4 blocks: same scale byte and codes, nibbles reordered",
    .transcode = mlx_to_ggml,
};

const QfTranscoderDescriptor kMxfp4ToMlxMxfp4 = {
    .from = "mxfp4",
    .to = "mlx_mxfp4",
    .description = "ggml MXFP4 blocks as MLX mxfp4 groups: same scale byte and codes, nibbles reordered",
    .transcode = ggml_to_mlx,
};

}  // namespace quantflow::mlx_fp_ggml
