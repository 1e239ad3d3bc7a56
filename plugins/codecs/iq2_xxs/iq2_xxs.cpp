// IQ2_XXS: 256-element super-blocks of 66 bytes (quant-blocks.md §4.1): an fp16 super-scale,
// then per 32 elements two LE u32, the first holding four 8-bit grid indices (iq2xxs_grid),
// the second four 7-bit sign indices (ksigns_iq2xs) and a 4-bit sub-scale in bits 28..31.
// ggml defines the encoding only with an importance matrix.
#include <cstdint>
#include <cstring>
#include <iterator>

#include "quantflow/codec.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/iq2_grids.hpp"
#include "codec_kit/iq2_scale_search.hpp"
#include "codec_kit/iq_sub_block.hpp"
#include "codec_kit/quant_search.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 256;

// ggml's block_iq2_xxs, read as 32-bit words: per 32 elements, one word of four 8-bit grid
// indices, then one of four 7-bit sign sets and a 4-bit scale on top.
struct BlockIq2Xxs {
  kit::Half d;
  kit::U32 qs[kQK / 16];
};
static_assert(sizeof(BlockIq2Xxs) == sizeof(kit::Half) + kQK / 16 * sizeof(kit::U32));
constexpr int kMaxQ = kit::kIq2MaxQ;

void encode_superblock(const kit::IqLattice& lat, const float* xbl, const float* qwbl, BlockIq2Xxs& out) {
  const float sigma2 = kit::sum_squares(xbl, kQK) / kQK;

  uint32_t q2[16] = {};
  float scales[8];
  float max_scale = 0;

  for (int ib = 0; ib < 8; ++ib) {
    const float* xb = xbl + 32 * ib;
    float weight[32], waux[32], xval[32];
    uint8_t signs[4];
    kit::imatrix_weights(xb, qwbl + 32 * ib, sigma2, 32, weight);
    kit::sqrt_weights(weight, 32, waux);
    for (int k = 0; k < 4; ++k) signs[k] = kit::even_parity_signs8(xb + 8 * k, weight + 8 * k, xval + 8 * k);
    const float vmax = kit::max_magnitude(xval, 32);
    if (vmax < kit::kGroupMaxEps) {
      scales[ib] = 0;
      continue;
    }

    // Unlike IQ2_XS/S, trial scales start from make_qp_quants and every group is refitted.
    int8_t L[32], Laux[32];
    uint8_t Lqp[32];
    float scale = kit::make_qp_quants(32, kMaxQ + 1, xval, Lqp, weight);
    for (int i = 0; i < 32; ++i) L[i] = static_cast<int8_t>(Lqp[i]);
    const float eff_max = scale * kMaxQ;
    float best = 0;
    for (int is = -6; is <= 6; ++is) {
      const float id = (2 * kMaxQ - 1 + is * 0.1f) / eff_max;
      const float this_scale = 1 / id;
      for (int k = 0; k < 4; ++k) kit::iq2_snap_group(lat, xval + 8 * k, waux + 8 * k, id, this_scale, Laux + 8 * k);
      float sumqx, sumq2;
      kit::lattice_fit(weight, xval, Laux, 32, &sumqx, &sumq2);
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        scale = sumqx / sumq2;
        best = scale * sumqx;
        std::memcpy(L, Laux, 32);
      }
    }
    if (scale > 0) {
      const float id = 1 / scale;
      for (int k = 0; k < 4; ++k) kit::iq2_snap_group(lat, xval + 8 * k, waux + 8 * k, id, scale, L + 8 * k);
      float sumqx, sumq2;
      kit::lattice_fit(weight, xval, L, 32, &sumqx, &sumq2);
      if (sumq2 > 0) scale = sumqx / sumq2;
    }
    if (scale < 0) {
      scale = -scale;
      for (int k = 0; k < 4; ++k) signs[k] = static_cast<uint8_t>(~signs[k] & 127);
    }
    for (int k = 0; k < 4; ++k) {
      int g = lat.lookup(kit::pack_lattice_levels(L + 8 * k));
      if (g < 0) g = 0;  // unreachable: L always comes from a grid entry here
      q2[2 * ib] |= static_cast<uint32_t>(g) << (8 * k);
      q2[2 * ib + 1] |= static_cast<uint32_t>(signs[k]) << (7 * k);
    }
    scales[ib] = scale;
    max_scale = max_scale > scale ? max_scale : scale;
  }

  if (!max_scale) {
    out = BlockIq2Xxs{};
    return;
  }
  const float d = max_scale / 31;
  const float id = 1 / d;
  for (int ib = 0; ib < 8; ++ib) q2[2 * ib + 1] |= static_cast<uint32_t>(kit::sub_scale_code(id, scales[ib], 15)) << 28;
  kit::store(out.d, d);
  for (int i = 0; i < 16; ++i) kit::store(out.qs[i], q2[i]);
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_iq_blocks<kQK, BlockIq2Xxs>(
      src, dst, n_rows, n_per_row, imatrix, {.imatrix_required = true, .finite_required = true},
      [](const float* x, const float* qw, BlockIq2Xxs& y) { encode_superblock(kit::iq2xxs_lattice(), x, qw, y); });
}

void decode_block(const BlockIq2Xxs& in, float* y) {
  const float d = kit::load(in.d);
  for (int ib = 0; ib < 8; ++ib) {
    const uint8_t* q = in.qs[2 * ib].bytes;
    const uint32_t aux = kit::load(in.qs[2 * ib + 1]);
    const float db = d * (0.5f + (aux >> 28)) * 0.25f;
    for (int l = 0; l < 4; ++l, y += 8)
      kit::iq2_decode_group(kit::iq2xxs_grid[q[l]], kit::ksigns_iq2xs[(aux >> (7 * l)) & 127], db, y);
  }
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_iq_blocks<kQK, BlockIq2Xxs>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "16"}, {"gguf.file_type", "19"}};

const QfCodecDescriptor kCodec = {
    .name = "iq2_xxs",
    .description = "ggml IQ2_XXS: 2.06 bpw lattice quantization (needs an importance matrix)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockIq2Xxs),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_REQUIRED | QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-iq2_xxs", "0.1.0", kCodec)
