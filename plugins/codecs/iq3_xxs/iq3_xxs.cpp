// IQ3_XXS: 256 weights as 3-bit lattice points (4 per grid index) with even-parity signs and
// a 4-bit scale per 32, under one fp16 super-scale (98 bytes), bit-exact with ggml's
// quantize_iq3_xxs / dequantize_row_iq3_xxs (quant-blocks.md §4.4, §4.8).
#include <cstdint>
#include <cstring>
#include <iterator>

#include "quantflow/codec.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/iq3_grids.hpp"
#include "codec_kit/iq3_scale_search.hpp"
#include "codec_kit/iq_sub_block.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int64_t kBlockElems = 256;

// ggml's block_iq3_xxs, whose qs[3*QK_K/8] is the grid indices followed by the sign-and-scale
// words.
struct BlockIq3Xxs {
  kit::Half d;
  uint8_t qs[kBlockElems / 4];              // one 8-bit grid index per group of four
  kit::U32 scales_signs[kBlockElems / 32];  // per 32 elements: four 7-bit sign sets, 4-bit scale on top
};
static_assert(sizeof(BlockIq3Xxs) == sizeof(kit::Half) + kBlockElems / 4 + kBlockElems / 32 * sizeof(kit::U32));
constexpr float kGroupEps = 1e-8f;  // a 32-group whose largest magnitude is below this is zero

void encode_super_block(const kit::Iq3Search& s, const float* x, const float* qw, BlockIq3Xxs& out) {
  uint8_t grid_idx[64] = {};
  uint32_t scales_and_signs[8] = {};
  float scales[8];
  float weight[32], waux[32], xval[32];
  int8_t L[32] = {};  // deliberately outside the loop: see iq3_search_scale
  uint8_t block_signs[4];

  const float sigma2 = 2.0f * kit::sum_squares(x, 256) / 256.0f;

  float max_scale = 0.0f;
  for (int ib = 0; ib < 8; ++ib) {
    const float* xb = x + 32 * ib;
    if (qw) {
      kit::imatrix_weights(xb, qw + 32 * ib, sigma2, 32, weight);
    } else {
      for (int i = 0; i < 32; ++i) weight[i] = xb[i] * xb[i];
    }
    kit::sqrt_weights(weight, 32, waux);
    for (int k = 0; k < 4; ++k) block_signs[k] = kit::even_parity_signs8(xb + 8 * k, weight + 8 * k, xval + 8 * k);
    const float max = kit::max_magnitude(xval, 32);
    if (max < kGroupEps) {
      scales[ib] = 0.0f;
      continue;
    }
    float scale = kit::iq3_search_scale(s, xval, weight, waux, max, 15, /*refit_all=*/false, L);
    if (scale < 0.0f) {
      scale = -scale;
      for (int k = 0; k < 4; ++k) block_signs[k] = static_cast<uint8_t>(~block_signs[k] & 127u);
    }
    for (int k = 0; k < 8; ++k) grid_idx[8 * ib + k] = static_cast<uint8_t>(kit::iq3_grid_index(s, L + 4 * k));
    scales_and_signs[ib] = static_cast<uint32_t>(block_signs[0]) | (static_cast<uint32_t>(block_signs[1]) << 7) |
                           (static_cast<uint32_t>(block_signs[2]) << 14) |
                           (static_cast<uint32_t>(block_signs[3]) << 21);
    scales[ib] = scale;
    max_scale = max_scale > scale ? max_scale : scale;
  }

  out = BlockIq3Xxs{};
  if (max_scale == 0.0f) return;  // d = +0 and every index/sign/scale zero

  const float d = max_scale / 31.0f;
  kit::store(out.d, d * 1.0125f);
  const float id = 1.0f / d;
  for (int ib = 0; ib < 8; ++ib)
    scales_and_signs[ib] |= static_cast<uint32_t>(kit::sub_scale_code(id, scales[ib], 15)) << 28;
  std::memcpy(out.qs, grid_idx, sizeof(out.qs));
  for (int ib = 0; ib < 8; ++ib) kit::store(out.scales_signs[ib], scales_and_signs[ib]);
}

void decode_super_block(const BlockIq3Xxs& in, float* y) {
  const float d = kit::load(in.d);
  const uint8_t* qs = in.qs;
  for (int ib = 0; ib < 8; ++ib) {
    const uint32_t aux = kit::load(in.scales_signs[ib]);
    const float db = d * (0.5f + static_cast<float>(aux >> 28)) * 0.5f;
    for (int l = 0; l < 4; ++l) {
      kit::iq3_decode_group(kit::iq3xxs_grid[qs[8 * ib + 2 * l]], kit::iq3xxs_grid[qs[8 * ib + 2 * l + 1]],
                            kit::iq3_ksigns((aux >> (7 * l)) & 127u), db, y + 32 * ib + 8 * l);
    }
  }
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_iq_blocks<kBlockElems, BlockIq3Xxs>(
      src, dst, n_rows, n_per_row, imatrix, {.imatrix_required = false, .finite_required = true},
      [](const float* x, const float* qw, BlockIq3Xxs& y) { encode_super_block(kit::iq3_search(256), x, qw, y); });
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_iq_blocks<kBlockElems, BlockIq3Xxs>(src, dst, n_rows, n_per_row, decode_super_block);
}

constexpr QfContainerId kIds[] = {{"gguf", "18"}, {"gguf.file_type", "23"}};

constexpr QfCodecDescriptor kCodec = {
    .name = "iq3_xxs",
    .description = "IQ3_XXS: 3-bit lattice (256-point grid), 4-bit scale per 32, fp16 per 256 (3.06 bpw)",
    .block_elems = kBlockElems,
    .block_bytes = sizeof(BlockIq3Xxs),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-iq3_xxs", "0.1.0", kCodec)
