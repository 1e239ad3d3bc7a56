// IQ1_S: 256-element super-blocks of 50 bytes (quant-blocks.md §4.6): an fp16 super-scale,
// 32 bytes of low grid-index bits (iq1s_grid, 2048 entries of -1/0/+1), then per 32 elements a
// LE u16 holding the high index bits (3 per group of 8), a 3-bit scale and the sign of the
// +-0.125 shift. ggml defines the encoding only with an importance matrix.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "quantflow/codec.hpp"
#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/iq1_grids.hpp"
#include "codec_kit/iq1_scale_search.hpp"
#include "codec_kit/iq_sub_block.hpp"
#include "codec_kit/quant_search.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 256;
constexpr int kBlock = 32;  // elements sharing one scale and one shift

// ggml's block_iq1_s.
struct BlockIq1S {
  kit::Half d;
  uint8_t qs[kQK / 8];        // low eight bits of each group's 11-bit grid index
  kit::U16 qh[kQK / kBlock];  // per sub-block: high index bits (3 per group), 3-bit scale, shift sign
};
static_assert(sizeof(BlockIq1S) == sizeof(kit::Half) + kQK / 8 + kQK / kBlock * sizeof(kit::U16));
// ggml's GROUP_MAX_EPS_IQ1_S.
constexpr float kGroupMaxEpsIq1s = 1e-12f;

// shifts[ib] is the shift sign (+1 / -1) chosen for sub-block ib; it carries over from the
// previous super-block of the row for sub-blocks that are all zero, as ggml's does.
void encode_superblock(const kit::IqLattice& lat, const float* xbl, const float* qwbl, BlockIq1S& out, int8_t* shifts) {
  const float x_p[3] = {-1 + kit::kIq1sDelta, kit::kIq1sDelta, 1 + kit::kIq1sDelta};
  const float x_m[3] = {-1 - kit::kIq1sDelta, -kit::kIq1sDelta, 1 - kit::kIq1sDelta};

  out = BlockIq1S{};
  uint8_t* qs = out.qs;
  uint16_t qh[8] = {};

  const float sigma2 = 2 * kit::sum_squares(xbl, kQK) / kQK;

  float scales[8];
  float max_scale = 0;
  for (int ib = 0; ib < kQK / kBlock; ++ib) {
    const float* xb = xbl + kBlock * ib;
    float weight[kBlock];
    kit::imatrix_weights(xb, qwbl + kBlock * ib, sigma2, kBlock, weight);
    const float vmax = kit::abs_max(xb, kBlock);
    if (vmax < kGroupMaxEpsIq1s) {
      scales[ib] = 0;
      continue;
    }
    // The three values -1, 0, +1 split the sorted elements at two boundaries; with prefix sums
    // over the sorted order every split is scored exactly, for both shift signs.
    int idx[kBlock];
    kit::iq1_sorted_order(xb, kBlock, idx);
    float sumx[kBlock + 1], sumw[kBlock + 1];
    sumx[0] = sumw[0] = 0;
    for (int j = 0; j < kBlock; ++j) {
      const int i = idx[j];
      sumx[j + 1] = sumx[j] + weight[i] * xb[i];
      sumw[j + 1] = sumw[j] + weight[i];
    }
    kit::Iq1SplitChoice best(vmax);
    for (int i1 = 0; i1 <= kBlock; ++i1) {
      for (int i2 = i1; i2 <= kBlock; ++i2) {
        for (int shift : {1, -1}) {
          const float* xv = shift == 1 ? x_p : x_m;
          const float sumqx =
              (sumx[i1] - sumx[0]) * xv[0] + (sumx[i2] - sumx[i1]) * xv[1] + (sumx[kBlock] - sumx[i2]) * xv[2];
          const float sumq2 = (sumw[i1] - sumw[0]) * xv[0] * xv[0] + (sumw[i2] - sumw[i1]) * xv[1] * xv[1] +
                              (sumw[kBlock] - sumw[i2]) * xv[2] * xv[2];
          best.offer(sumqx, sumq2, i1, i2, shift);
        }
      }
    }
    if (!best.found()) {  // unreachable for finite input
      scales[ib] = 0;
      continue;
    }
    int8_t L[kBlock];
    const int best_shift = best.take_levels(idx, kBlock, L) ? -best.shift : best.shift;
    float scale = best.scale;
    const float* xv = best_shift == 1 ? x_p : x_m;
    const float* const xx[kBlock / 8] = {xv, xv, xv, xv};
    int index[kBlock / 8];
    if (!kit::iq1_snap_groups(lat, xb, weight, scale, xx, kBlock / 8, L, index))
      scale = kit::iq1_refit_scale(lat, xb, weight, xx, kBlock / 8, index, scale);
    uint16_t h = 0;
    for (int k = 0; k < kBlock / 8; ++k) {
      qs[(kBlock / 8) * ib + k] = static_cast<uint8_t>(index[k] & 255);
      h |= static_cast<uint16_t>((index[k] >> 8) << (3 * k));
    }
    qh[ib] = h;
    scales[ib] = scale;
    shifts[ib] = static_cast<int8_t>(best_shift);
    max_scale = max_scale > scale ? max_scale : scale;
  }

  if (!max_scale) return;

  const float d = max_scale / 15;
  const uint16_t dh = kit::fp32_to_fp16(d * 1.125f);
  const float id = 1 / d;
  for (int ib = 0; ib < kQK / kBlock; ++ib) {
    int l = kit::sub_scale_code(id, scales[ib], 7);
    if (shifts[ib] == -1) l |= 8;
    qh[ib] |= static_cast<uint16_t>(l << 12);
  }
  kit::store_bits(out.d, dh);
  for (int ib = 0; ib < 8; ++ib) kit::store(out.qh[ib], qh[ib]);
}

// Each row starts with all-positive shifts, so that rows encode independently.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  int8_t shifts[kQK / kBlock] = {};
  return kit::encode_iq_blocks<kQK, BlockIq1S>(src, dst, n_rows, n_per_row, imatrix,
                                               {.imatrix_required = true, .finite_required = true},
                                               [&](const float* x, const float* qw, BlockIq1S& y, int64_t ib) {
                                                 if (ib == 0) std::fill(shifts, shifts + kQK / kBlock, int8_t{0});
                                                 encode_superblock(kit::iq1s_lattice(), x, qw, y, shifts);
                                               });
}

void decode_block(const BlockIq1S& in, float* y) {
  const float d = kit::load(in.d);
  const uint8_t* qs = in.qs;
  for (int ib = 0; ib < 8; ++ib) {
    const uint16_t qh = kit::load(in.qh[ib]);
    const float dl = d * (2 * ((qh >> 12) & 7) + 1);
    const float delta = qh & 0x8000 ? -kit::kIq1sDelta : kit::kIq1sDelta;
    for (int l = 0; l < 4; ++l, y += 8)
      kit::iq1_decode_group(kit::iq1s_grid[qs[4 * ib + l] | (((qh >> (3 * l)) & 7) << 8)], dl, delta, y);
  }
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_iq_blocks<kQK, BlockIq1S>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "19"}, {"gguf.file_type", "24"}};

const QfCodecDescriptor kCodec = {
    .name = "iq1_s",
    .description = "ggml IQ1_S: 1.56 bpw lattice quantization (needs an importance matrix)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockIq1S),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_REQUIRED | QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-iq1_s", "0.1.0", kCodec)
