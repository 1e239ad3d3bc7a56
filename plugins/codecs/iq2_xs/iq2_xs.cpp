// IQ2_XS: 256-element super-blocks of 74 bytes (quant-blocks.md §4.2): an fp16 super-scale,
// 32 LE u16 (per 8 elements: bits 0-8 index into iq2xs_grid, bits 9-15 a ksigns_iq2xs index),
// then 8 bytes of 4-bit scales, one per 16 elements. ggml defines the encoding only with an
// importance matrix.
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

// ggml's block_iq2_xs.
struct BlockIq2Xs {
  kit::Half d;
  kit::U16 qs[kQK / 8];      // per group of eight: 9-bit grid index, 7 sign bits on top
  uint8_t scales[kQK / 32];  // 4-bit scales, two per byte
};
static_assert(sizeof(BlockIq2Xs) == sizeof(kit::Half) + kQK / 8 * sizeof(kit::U16) + kQK / 32);

void encode_superblock(const kit::IqLattice& lat, const float* xbl, const float* qwbl, BlockIq2Xs& out) {
  const float sigma2 = kit::sum_squares(xbl, kQK) / kQK;

  uint16_t q2[32] = {};
  float scales[16];
  float max_scale = 0;

  for (int ib = 0; ib < 16; ++ib) {
    const float* xb = xbl + 16 * ib;
    float weight[16], waux[16], xval[16];
    uint8_t signs[2];
    kit::imatrix_weights(xb, qwbl + 16 * ib, sigma2, 16, weight);
    kit::sqrt_weights(weight, 16, waux);
    for (int k = 0; k < 2; ++k) signs[k] = kit::even_parity_signs8(xb + 8 * k, weight + 8 * k, xval + 8 * k);
    const float vmax = kit::max_magnitude(xval, 16);
    if (vmax < kit::kGroupMaxEps) {
      scales[ib] = 0;
      continue;
    }

    int8_t L[16];
    float scale = kit::iq2_search_pair_scale(lat, xval, weight, waux, vmax, L);
    if (scale < 0) {
      scale = -scale;
      for (int k = 0; k < 2; ++k) signs[k] = static_cast<uint8_t>(~signs[k] & 127);
    }
    for (int k = 0; k < 2; ++k) {
      int g = lat.lookup(kit::pack_lattice_levels(L + 8 * k));
      if (g < 0) g = 0;  // unreachable: L always comes from a grid entry here
      q2[2 * ib + k] = static_cast<uint16_t>(g | (signs[k] << 9));
    }
    scales[ib] = scale;
    max_scale = max_scale > scale ? max_scale : scale;
  }

  if (!max_scale) {
    out = BlockIq2Xs{};
    return;
  }
  const float d = max_scale / 31;
  const float id = 1 / d;
  uint8_t sc[8] = {};
  for (int ib = 0; ib < 16; ++ib)
    sc[ib / 2] |= static_cast<uint8_t>(kit::sub_scale_code(id, scales[ib], 15) << (4 * (ib % 2)));
  kit::store(out.d, d);
  for (int i = 0; i < 32; ++i) kit::store(out.qs[i], q2[i]);
  std::memcpy(out.scales, sc, sizeof(out.scales));
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_iq_blocks<kQK, BlockIq2Xs>(
      src, dst, n_rows, n_per_row, imatrix, {.imatrix_required = true, .finite_required = true},
      [](const float* x, const float* qw, BlockIq2Xs& y) { encode_superblock(kit::iq2xs_lattice(), x, qw, y); });
}

void decode_block(const BlockIq2Xs& in, float* y) {
  const float d = kit::load(in.d);
  const uint8_t* scales = in.scales;
  for (int ib = 0; ib < 8; ++ib) {
    const float db[2] = {d * (0.5f + (scales[ib] & 0xf)) * 0.25f, d * (0.5f + (scales[ib] >> 4)) * 0.25f};
    for (int l = 0; l < 4; ++l, y += 8) {
      const uint16_t v = kit::load(in.qs[4 * ib + l]);
      kit::iq2_decode_group(kit::iq2xs_grid[v & 511], kit::ksigns_iq2xs[v >> 9], db[l / 2], y);
    }
  }
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_iq_blocks<kQK, BlockIq2Xs>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "17"}, {"gguf.file_type", "20"}};

const QfCodecDescriptor kCodec = {
    .name = "iq2_xs",
    .description = "ggml IQ2_XS: 2.31 bpw lattice quantization (needs an importance matrix)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockIq2Xs),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_REQUIRED | QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-iq2_xs", "0.1.0", kCodec)
