// mlx_q4_g{32,64,128}_{f16,bf16} -> q4_1, and q4_1 -> mlx_q4_g32_f16. Both decoders compute
// fl(fl(q * scale) + bias) in float32, so equal fp16 fields and codes give equal values bit
// for bit: an f16 group always converts, a bf16 one when fp16 holds its scale and bias.
#include "mlx_affine_ggml.hpp"

namespace quantflow::mlx_affine_ggml {

namespace {

template <int Group, Scale S>
int32_t mlx_q4_to_q4_1(const void* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  using From = MlxGroup<Group, 4>;
  constexpr int kBlocks = Group / kQK;
  return kit::transcode_units<Group, sizeof(From), kBlocks * sizeof(BlockQ4_1)>(
      src, dst, n_rows, n_per_row, [](const uint8_t* in, uint8_t* out) {
        const auto* from = reinterpret_cast<const From*>(in);
        const auto d = as_fp16<S>(from->scale), m = as_fp16<S>(from->bias);
        if (!d || !m) return false;
        auto* blocks = reinterpret_cast<BlockQ4_1*>(out);
        for (int b = 0; b < kBlocks; ++b) {
          kit::store(blocks[b].d, *d);
          kit::store(blocks[b].m, *m);
          kit::stream_to_halves<kQK>(from->codes + b * kQK / 2, blocks[b].qs);
        }
        return true;
      });
}

int32_t q4_1_to_mlx_q4(const void* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  using To = MlxGroup<kQK, 4>;
  return kit::transcode_units<kQK, sizeof(BlockQ4_1), sizeof(To)>(
      src, dst, n_rows, n_per_row, [](const uint8_t* in, uint8_t* out) {
        const auto* from = reinterpret_cast<const BlockQ4_1*>(in);
        auto* to = reinterpret_cast<To*>(out);
        to->scale = from->d;
        to->bias = from->m;
        kit::halves_to_stream<kQK>(from->qs, to->codes, kit::kSameCode);
        return true;
      });
}

constexpr const char* kCopy = "MLX 4-bit affine groups as ggml Q4_1 blocks: scale and bias copied, nibbles reordered";
constexpr const char* kBf16 =
    "MLX 4-bit affine groups as ggml Q4_1 blocks: bf16 scale and bias as fp16 where exact, nibbles reordered";

}  // namespace

const QfTranscoderDescriptor kMlxQ4ToQ4_1[6] = {
    {.from = "mlx_q4_g32_f16",
     .to = "q4_1",
     .description = kCopy,
     .transcode = mlx_q4_to_q4_1<32, Scale::f16>,
     .flags = QF_TRANSCODE_ALWAYS_EXACT},
    {.from = "mlx_q4_g64_f16",
     .to = "q4_1",
     .description = kCopy,
     .transcode = mlx_q4_to_q4_1<64, Scale::f16>,
     .flags = QF_TRANSCODE_ALWAYS_EXACT},
    {.from = "mlx_q4_g128_f16",
     .to = "q4_1",
     .description = kCopy,
     .transcode = mlx_q4_to_q4_1<128, Scale::f16>,
     .flags = QF_TRANSCODE_ALWAYS_EXACT},
    {.from = "mlx_q4_g32_bf16", .to = "q4_1", .description = kBf16, .transcode = mlx_q4_to_q4_1<32, Scale::bf16>},
    {.from = "mlx_q4_g64_bf16", .to = "q4_1", .description = kBf16, .transcode = mlx_q4_to_q4_1<64, Scale::bf16>},
    {.from = "mlx_q4_g128_bf16", .to = "q4_1", .description = kBf16, .transcode = mlx_q4_to_q4_1<128, Scale::bf16>},
};

const QfTranscoderDescriptor kQ4_1ToMlxQ4 = {
    .from = "q4_1",
    .to = "mlx_q4_g32_f16",
    .description = "ggml Q4_1 blocks as MLX 4-bit affine groups of 32: scale and bias copied, nibbles reordered",
    .transcode = q4_1_to_mlx_q4,
    .flags = QF_TRANSCODE_ALWAYS_EXACT,
};

}  // namespace quantflow::mlx_affine_ggml
