// IQ2_S: 256-element super-blocks of 82 bytes (quant-blocks.md §4.3): an fp16 super-scale,
// 32 bytes of low grid-index bits (iq2s_grid, 1024 entries), 32 explicit sign bytes, 8 bytes
// of high index bits (two per group of 8), then 8 bytes of 4-bit scales, one per 16 elements.
// An importance matrix is optional.
#include <cstdint>
#include <cstring>
#include <iterator>

#include "quantflow/codec.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/iq2_grids.hpp"
#include "codec_kit/iq2_scale_search.hpp"
#include "codec_kit/iq_sub_block.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 256;

// ggml's block_iq2_s, whose qs[QK_K/4] is the grid indices followed by the signs.
struct BlockIq2S {
  kit::Half d;
  uint8_t qs[kQK / 8];       // low eight bits of each group's 10-bit grid index
  uint8_t signs[kQK / 8];    // one sign byte per group of eight
  uint8_t qh[kQK / 32];      // high index bits, two per group
  uint8_t scales[kQK / 32];  // 4-bit scales, two per byte
};
static_assert(sizeof(BlockIq2S) == sizeof(kit::Half) + kQK / 8 + kQK / 8 + kQK / 32 + kQK / 32);
// ggml's GROUP_MAX_EPS_IQ2_S.
constexpr float kGroupMaxEpsIq2s = 1e-8f;

void encode_superblock(const kit::IqLattice& lat, const float* xbl, const float* qwbl, BlockIq2S& out) {
  const float sigma2 = 2 * kit::sum_squares(xbl, kQK) / kQK;

  out = BlockIq2S{};
  uint8_t* qs = out.qs;
  uint8_t* qh = out.qh;
  float scales[16];
  float max_scale = 0;

  for (int ib = 0; ib < 16; ++ib) {
    const float* xb = xbl + 16 * ib;
    float weight[16], waux[16], xval[16];
    uint8_t signs[2];
    if (qwbl) {
      kit::imatrix_weights(xb, qwbl + 16 * ib, sigma2, 16, weight);
    } else {
      for (int i = 0; i < 16; ++i) weight[i] = 0.25f * sigma2 + xb[i] * xb[i];
    }
    kit::sqrt_weights(weight, 16, waux);
    // The signs are stored explicitly, one bit per element.
    for (int k = 0; k < 2; ++k) signs[k] = kit::split_signs8(xb + 8 * k, xval + 8 * k);
    const float vmax = kit::max_magnitude(xval, 16);
    if (vmax < kGroupMaxEpsIq2s) {
      scales[ib] = 0;
      continue;
    }

    int8_t L[16];
    float scale = kit::iq2_search_pair_scale(lat, xval, weight, waux, vmax, L);
    if (scale < 0) {
      scale = -scale;
      for (int k = 0; k < 2; ++k) signs[k] = static_cast<uint8_t>(~signs[k]);
    }
    for (int k = 0; k < 2; ++k) {
      int g = lat.lookup(kit::pack_lattice_levels(L + 8 * k));
      if (g < 0) g = 0;  // unreachable: L always comes from a grid entry here
      const int i8 = 2 * ib + k;
      qs[i8] = static_cast<uint8_t>(g & 255);
      qh[i8 / 4] |= static_cast<uint8_t>((g >> 8) << (2 * (i8 % 4)));
      out.signs[i8] = signs[k];
    }
    scales[ib] = scale;
    max_scale = max_scale > scale ? max_scale : scale;
  }

  if (!max_scale) return;
  const float d = max_scale / 31;
  const float id = 1 / d;
  uint8_t sc[8] = {};
  for (int ib = 0; ib < 16; ++ib)
    sc[ib / 2] |= static_cast<uint8_t>(kit::sub_scale_code(id, scales[ib], 15) << (4 * (ib % 2)));
  kit::store(out.d, d * 0.9875f);
  std::memcpy(out.scales, sc, sizeof(out.scales));
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_iq_blocks<kQK, BlockIq2S>(
      src, dst, n_rows, n_per_row, imatrix, {.imatrix_required = false, .finite_required = true},
      [](const float* x, const float* qw, BlockIq2S& y) { encode_superblock(kit::iq2s_lattice(), x, qw, y); });
}

void decode_block(const BlockIq2S& in, float* y) {
  const float d = kit::load(in.d);
  const uint8_t* qs = in.qs;
  const uint8_t* signs = in.signs;
  const uint8_t* qh = in.qh;
  const uint8_t* scales = in.scales;
  for (int ib = 0; ib < 8; ++ib) {
    const float db[2] = {d * (0.5f + (scales[ib] & 0xf)) * 0.25f, d * (0.5f + (scales[ib] >> 4)) * 0.25f};
    for (int l = 0; l < 4; ++l, y += 8) {
      const int idx = qs[4 * ib + l] | ((qh[ib] << (8 - 2 * l)) & 0x300);
      kit::iq2_decode_group(kit::iq2s_grid[idx], signs[4 * ib + l], db[l / 2], y);
    }
  }
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_iq_blocks<kQK, BlockIq2S>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "22"}, {"gguf.file_type", "28"}};

const QfCodecDescriptor kCodec = {
    .name = "iq2_s",
    .description = "ggml IQ2_S: 2.56 bpw lattice quantization",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockIq2S),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-iq2_s", "0.1.0", kCodec)
