// AutoAWQ/GPTQ 4-bit zero-point groups (zp_q4_g{32,64,128}: value = (q - zero) * scale) as
// affine groups with bias = -zero * scale: ggml Q4_1 blocks (q * d + m) and MLX 4-bit f16
// groups (scale * q + bias). When fp16 holds -zero * scale exactly, q * scale - zero * scale
// is (q - zero) * scale exactly in float32 for the 4-bit codes of real checkpoints; each
// group's values are compared with the zero-point values bit for bit (a zero may change sign)
// all the same, so an unusual zero (up to 65535) is caught rather than assumed.
#include <algorithm>
#include <iterator>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/transcode_units.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 32;  // ggml's block

template <int Group>
struct ZeroPointGroup {
  kit::U16 scale;  // fp16
  kit::U16 zero;
  uint8_t codes[Group / 2];  // 4-bit stream
};
template <int Group>
struct MlxGroup {
  kit::U16 scale;            // fp16
  kit::U16 bias;             // fp16
  uint8_t codes[Group / 2];  // 4-bit stream, as above
};
struct BlockQ4_1 {
  kit::U16 d;
  kit::U16 m;
  uint8_t qs[kQK / 2];  // element j low nibble of byte j, j + 16 high
};
static_assert(sizeof(ZeroPointGroup<32>) == 20 && sizeof(MlxGroup<32>) == 20 && sizeof(BlockQ4_1) == 20);

// The group as scale * q + bias, when fp16 holds the bias and the affine values, computed as
// both target decoders do (fl(fl(scale * q) + bias)), equal the zero-point values.
template <int Group>
bool affine_fields(const ZeroPointGroup<Group>& g, uint16_t& scale_bits, uint16_t& bias_bits) {
  scale_bits = kit::load(g.scale);
  const float scale = kit::fp16_to_fp32(scale_bits);
  const int zero = kit::load(g.zero);
  const auto bias = kit::fp16_exactly(-static_cast<double>(zero) * static_cast<double>(scale));
  if (!bias) return false;
  bias_bits = *bias;
  const float bias_value = kit::fp16_to_fp32(bias_bits);
  for (int e = 0; e < Group; ++e) {
    const int q = kit::stream_nibble(g.codes, e);
    const float zero_point = static_cast<float>(q - zero) * scale;
    const float affine = scale * static_cast<float>(q) + bias_value;
    if (!kit::same_value(zero_point, affine)) return false;
  }
  return true;
}

template <int Group>
int32_t to_q4_1(const void* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  constexpr int kBlocks = Group / kQK;
  return kit::transcode_units<Group, sizeof(ZeroPointGroup<Group>), kBlocks * sizeof(BlockQ4_1)>(
      src, dst, n_rows, n_per_row, [](const uint8_t* in, uint8_t* out) {
        const auto& from = *reinterpret_cast<const ZeroPointGroup<Group>*>(in);
        uint16_t d = 0, m = 0;
        if (!affine_fields(from, d, m)) return false;
        auto* blocks = reinterpret_cast<BlockQ4_1*>(out);
        for (int b = 0; b < kBlocks; ++b) {
          kit::store(blocks[b].d, d);
          kit::store(blocks[b].m, m);
          kit::stream_to_halves<kQK>(from.codes + b * kQK / 2, blocks[b].qs);
        }
        return true;
      });
}

template <int Group>
int32_t to_mlx(const void* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::transcode_units<Group, sizeof(ZeroPointGroup<Group>), sizeof(MlxGroup<Group>)>(
      src, dst, n_rows, n_per_row, [](const uint8_t* in, uint8_t* out) {
        const auto& from = *reinterpret_cast<const ZeroPointGroup<Group>*>(in);
        auto& to = *reinterpret_cast<MlxGroup<Group>*>(out);
        uint16_t scale = 0, bias = 0;
        if (!affine_fields(from, scale, bias)) return false;
        kit::store(to.scale, scale);
        kit::store(to.bias, bias);
        std::copy(std::begin(from.codes), std::end(from.codes), to.codes);  // the same bit stream
        return true;
      });
}

constexpr const char* kToQ4_1 = "4-bit zero-point groups as ggml Q4_1 blocks (bias -zero * scale) where exact";
constexpr const char* kToMlx = "4-bit zero-point groups as MLX affine f16 groups (bias -zero * scale) where exact";

const QfTranscoderDescriptor kTranscoderTable[] = {
    {.from = "zp_q4_g32", .to = "q4_1", .description = kToQ4_1, .transcode = to_q4_1<32>},
    {.from = "zp_q4_g64", .to = "q4_1", .description = kToQ4_1, .transcode = to_q4_1<64>},
    {.from = "zp_q4_g128", .to = "q4_1", .description = kToQ4_1, .transcode = to_q4_1<128>},
    {.from = "zp_q4_g32", .to = "mlx_q4_g32_f16", .description = kToMlx, .transcode = to_mlx<32>},
    {.from = "zp_q4_g64", .to = "mlx_q4_g64_f16", .description = kToMlx, .transcode = to_mlx<64>},
    {.from = "zp_q4_g128", .to = "mlx_q4_g128_f16", .description = kToMlx, .transcode = to_mlx<128>},
};

const QfTranscoderDescriptor* const kTranscoders[] = {&kTranscoderTable[0], &kTranscoderTable[1], &kTranscoderTable[2],
                                                      &kTranscoderTable[3], &kTranscoderTable[4], &kTranscoderTable[5]};

}  // namespace

QUANTFLOW_TRANSCODER_PLUGIN("transcoder-zero_point_ggml", "1.0.0",
                            "AutoAWQ/GPTQ 4-bit zero-point groups -> ggml Q4_1 / MLX affine without a float detour",
                            kTranscoders)
