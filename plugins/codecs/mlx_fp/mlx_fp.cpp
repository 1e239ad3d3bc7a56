// MLX's floating quantization modes (mlx-quant.md §3), as MLX's CPU graph computes them from
// float32 weights: mlx_mxfp4 and mlx_mxfp8 (32 elements, one E8M0 power of two) and mlx_nvfp4
// (16 elements, one E4M3FN scale, no global scale). Each block is the group's scale byte, then
// its codes: FP4 element k at bits 4k (byte b holds elements 2b low, 2b + 1 high), FP8 one byte
// per element.
//
// These are not ggml's MXFP4 / NVFP4: MLX rounds log2 of the scale to the nearest exponent
// (ggml floors and subtracts 2), rounds its FP8 scale to nearest even, and orders nibbles in
// consecutive pairs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>

#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_rows.hpp"
#include "fp_elements.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;
namespace fp = quantflow::mlx_fp;

constexpr int kMxGroup = 32;
constexpr int kNvGroup = 16;

struct BlockMxfp4 {
  uint8_t scale;  // E8M0
  uint8_t codes[kMxGroup / 2];
};
static_assert(sizeof(BlockMxfp4) == 17);

struct BlockMxfp8 {
  uint8_t scale;  // E8M0
  uint8_t codes[kMxGroup];
};
static_assert(sizeof(BlockMxfp8) == 33);

struct BlockNvfp4 {
  uint8_t scale;  // E4M3FN
  uint8_t codes[kNvGroup / 2];
};
static_assert(sizeof(BlockNvfp4) == 9);

// The shared exponent of an mx group: e = rint(log2(amax / max)), 0 for an all-zero group.
// MLX stores e + 127 as a byte without a range check; e is clamped to what E8M0 holds (bytes
// 0..254), which only groups of magnitude below about 2^-125 reach, so that the stored byte
// and the exponent the codes were divided by agree.
int mx_exponent(const float* w, float max) {
  const float s = kit::abs_max(w, kMxGroup) / max;
  if (s == 0.0f) return 0;
  return std::clamp(static_cast<int>(std::nearbyint(std::log2(s))), -127, 127);
}

uint8_t e8m0_byte(int e) { return static_cast<uint8_t>(e + 127); }

// Element k's 4-bit code into byte k / 2: even k low nibble, odd k high.
template <size_t N>
void put_nibble(uint8_t (&codes)[N], int k, uint8_t code) {
  codes[k / 2] |= static_cast<uint8_t>(k % 2 == 0 ? code : code << 4);
}

template <size_t N>
uint8_t get_nibble(const uint8_t (&codes)[N], int k) {
  return static_cast<uint8_t>(k % 2 == 0 ? codes[k / 2] & 0x0Fu : codes[k / 2] >> 4);
}

// w / 2^e as an exact power-of-two scaling (the same rounding as MLX's division).
void encode_mxfp4_group(const float* w, BlockMxfp4& y) {
  const int e = mx_exponent(w, fp::kFp4Max);
  y.scale = e8m0_byte(e);
  std::fill(std::begin(y.codes), std::end(y.codes), uint8_t{0});
  for (int k = 0; k < kMxGroup; ++k) put_nibble(y.codes, k, fp::nearest_e2m1(std::ldexp(w[k], -e)));
}

void encode_mxfp8_group(const float* w, BlockMxfp8& y) {
  const int e = mx_exponent(w, fp::kFp8Max);
  y.scale = e8m0_byte(e);
  for (int k = 0; k < kMxGroup; ++k) y.codes[k] = fp::to_fp8(std::ldexp(w[k], -e));
}

// An all-zero group rounds its scale to 0 and MLX divides 0 by 0; this encoder writes code 0
// there instead (as for any group whose scale underflows E4M3FN), which decodes to zeros.
void encode_nvfp4_group(const float* w, BlockNvfp4& y) {
  const uint8_t s8 = fp::to_fp8(kit::abs_max(w, kNvGroup) / fp::kFp4Max);
  y.scale = s8;
  std::fill(std::begin(y.codes), std::end(y.codes), uint8_t{0});
  if (s8 == 0) return;
  const float d = fp::from_fp8(s8);
  for (int k = 0; k < kNvGroup; ++k) put_nibble(y.codes, k, fp::nearest_e2m1(w[k] / d));
}

void decode_mxfp4_group(const BlockMxfp4& b, float* y) {
  const float scale = fp::from_e8m0(b.scale);
  for (int k = 0; k < kMxGroup; ++k) y[k] = scale * fp::kE2m1Values[get_nibble(b.codes, k)];
}

void decode_mxfp8_group(const BlockMxfp8& b, float* y) {
  const float scale = fp::from_e8m0(b.scale);
  for (int k = 0; k < kMxGroup; ++k) y[k] = scale * fp::from_fp8(b.codes[k]);
}

void decode_nvfp4_group(const BlockNvfp4& b, float* y) {
  const float scale = fp::from_fp8(b.scale);
  for (int k = 0; k < kNvGroup; ++k) y[k] = scale * fp::kE2m1Values[get_nibble(b.codes, k)];
}

// Entry points; MLX has no weighted quantizer, so an importance matrix is ignored.
template <int Group, class Block, void (*EncodeGroup)(const float*, Block&)>
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<Group, Block>(src, dst, n_rows, n_per_row, imatrix, EncodeGroup);
}

template <int Group, class Block, void (*DecodeGroup)(const Block&, float*)>
int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<Group, Block>(src, dst, n_rows, n_per_row, DecodeGroup);
}

const QfContainerId kMxfp4Ids[] = {{"mlx", "mxfp4/4/32/u8"}};
const QfContainerId kMxfp8Ids[] = {{"mlx", "mxfp8/8/32/u8"}};
const QfContainerId kNvfp4Ids[] = {{"mlx", "nvfp4/4/16/u8"}};

const QfCodecDescriptor kMxfp4 = {
    .name = "mlx_mxfp4",
    .description = "MLX mxfp4: 32 E2M1 codes with an E8M0 scale, MLX's rounded exponent (4.25 bits per weight)",
    .block_elems = kMxGroup,
    .block_bytes = sizeof(BlockMxfp4),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kMxfp4Ids,
    .n_container_ids = std::size(kMxfp4Ids),
    .encode = encode<kMxGroup, BlockMxfp4, encode_mxfp4_group>,
    .decode = decode<kMxGroup, BlockMxfp4, decode_mxfp4_group>,
};

const QfCodecDescriptor kMxfp8 = {
    .name = "mlx_mxfp8",
    .description = "MLX mxfp8: 32 E4M3FN codes with an E8M0 scale, MLX's rounded exponent (8.25 bits per weight)",
    .block_elems = kMxGroup,
    .block_bytes = sizeof(BlockMxfp8),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kMxfp8Ids,
    .n_container_ids = std::size(kMxfp8Ids),
    .encode = encode<kMxGroup, BlockMxfp8, encode_mxfp8_group>,
    .decode = decode<kMxGroup, BlockMxfp8, decode_mxfp8_group>,
};

const QfCodecDescriptor kNvfp4 = {
    .name = "mlx_nvfp4",
    .description = "MLX nvfp4: 16 E2M1 codes with an E4M3FN scale, no global scale (4.5 bits per weight)",
    .block_elems = kNvGroup,
    .block_bytes = sizeof(BlockNvfp4),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kNvfp4Ids,
    .n_container_ids = std::size(kNvfp4Ids),
    .encode = encode<kNvGroup, BlockNvfp4, encode_nvfp4_group>,
    .decode = decode<kNvGroup, BlockNvfp4, decode_nvfp4_group>,
};

const QfCodecDescriptor* const kCodecs[] = {&kMxfp4, &kMxfp8, &kNvfp4};

const QfPluginDescriptor kPlugin = {
    .abi_version = QUANTFLOW_ABI_VERSION,
    .name = "codec-mlx_fp",
    .version = "1.0.0",
    .description = "MLX floating quantization modes (CPU reference): mlx_mxfp4, mlx_mxfp8, mlx_nvfp4",
    .codecs = kCodecs,
    .n_codecs = std::size(kCodecs),
    .containers = nullptr,
    .n_containers = 0,
};

}  // namespace

QUANTFLOW_EXPORT_PLUGIN(kPlugin)
