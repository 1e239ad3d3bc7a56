// mlx_q8_g{32,64,128}_{f16,bf16} -> q8_0. An MLX group is scale * q + bias with q in 0..255;
// Q8_0 is d * c with c in -128..127. When bias = -k * scale for a whole number k, the MLX value
// is (q - k) * scale exactly (every product and sum involved is exact in float32), so
// d = ±scale and c = ±(q - k) give the same values, where each c fits in int8 and fp16 holds
// the scale. Each block's values are then compared with the MLX values bit for bit (a zero may
// change sign): the proof is the comparison, the algebra only finds the candidate.
#include <algorithm>
#include <cmath>

#include "mlx_affine_ggml.hpp"

namespace quantflow::mlx_affine_ggml {

namespace {

// Beyond this |k| no code of 0..255 could land in int8.
constexpr double kMaxOffset = 255 + 128;

// k with bias = -k * scale exactly (checked in double, where the product is exact), or none.
// A zero scale makes every value the bias: only a zero bias works then (k = 0).
std::optional<int> code_offset(float scale, float bias) {
  if (!std::isfinite(scale) || !std::isfinite(bias)) return std::nullopt;
  if (scale == 0.0f) return bias == 0.0f ? std::optional(0) : std::nullopt;
  const double k = std::nearbyint(-static_cast<double>(bias) / static_cast<double>(scale));
  if (std::fabs(k) > kMaxOffset || k * static_cast<double>(scale) != -static_cast<double>(bias)) return std::nullopt;
  return static_cast<int>(k);
}

// One Q8_0 block for 32 codes of a group, or false.
bool to_q8_0_block(const uint8_t* q, float scale, float bias, int k, BlockQ8_0& out) {
  // c = q - k with d = scale, or c = k - q with d = -scale: whichever fits int8. With a zero
  // scale every c is 0.
  const auto [lo, hi] = std::minmax_element(q, q + kQK);
  int sign = 1;
  if (scale != 0.0f && (*lo - k < -128 || *hi - k > 127)) sign = -1;
  if (sign < 0 && (k - *hi < -128 || k - *lo > 127)) return false;
  const auto d = kit::fp16_exactly(sign * static_cast<double>(scale));
  if (!d) return false;
  kit::store(out.d, *d);
  const float d_value = kit::fp16_to_fp32(*d);
  for (int j = 0; j < kQK; ++j) {
    const int c = scale == 0.0f ? 0 : sign * (q[j] - k);
    out.qs[j] = static_cast<uint8_t>(static_cast<int8_t>(c));
    // The two decoders' arithmetic, float32 without contraction.
    const float mlx = scale * static_cast<float>(q[j]) + bias;
    const float ggml = static_cast<float>(c) * d_value;
    if (!kit::same_value(mlx, ggml)) return false;
  }
  return true;
}

template <int Group, Scale S>
int32_t mlx_q8_to_q8_0(const void* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  using From = MlxGroup<Group, 8>;
  constexpr int kBlocks = Group / kQK;
  return kit::transcode_units<Group, sizeof(From), kBlocks * sizeof(BlockQ8_0)>(
      src, dst, n_rows, n_per_row, [](const uint8_t* in, uint8_t* out) {
        const auto* from = reinterpret_cast<const From*>(in);
        const float scale = value_of<S>(from->scale), bias = value_of<S>(from->bias);
        const auto k = code_offset(scale, bias);
        if (!k) return false;
        auto* blocks = reinterpret_cast<BlockQ8_0*>(out);
        for (int b = 0; b < kBlocks; ++b)
          if (!to_q8_0_block(from->codes + b * kQK, scale, bias, *k, blocks[b])) return false;
        return true;
      });
}

constexpr const char* kDescription =
    "MLX 8-bit affine groups as ggml Q8_0 blocks where the bias is a whole number of scales";

}  // namespace

const QfTranscoderDescriptor kMlxQ8ToQ8_0[6] = {
    {.from = "mlx_q8_g32_f16", .to = "q8_0", .description = kDescription, .transcode = mlx_q8_to_q8_0<32, Scale::f16>},
    {.from = "mlx_q8_g64_f16", .to = "q8_0", .description = kDescription, .transcode = mlx_q8_to_q8_0<64, Scale::f16>},
    {.from = "mlx_q8_g128_f16",
     .to = "q8_0",
     .description = kDescription,
     .transcode = mlx_q8_to_q8_0<128, Scale::f16>},
    {.from = "mlx_q8_g32_bf16",
     .to = "q8_0",
     .description = kDescription,
     .transcode = mlx_q8_to_q8_0<32, Scale::bf16>},
    {.from = "mlx_q8_g64_bf16",
     .to = "q8_0",
     .description = kDescription,
     .transcode = mlx_q8_to_q8_0<64, Scale::bf16>},
    {.from = "mlx_q8_g128_bf16",
     .to = "q8_0",
     .description = kDescription,
     .transcode = mlx_q8_to_q8_0<128, Scale::bf16>},
};

}  // namespace quantflow::mlx_affine_ggml
