// IQ1_M: 256-element super-blocks of 56 bytes (quant-blocks.md §4.7): 32 bytes of low
// grid-index bits (iq1s_grid), 16 bytes holding per group of 8 the high index bits and the
// sign of the +-0.125 shift, then four LE u16 packing a 3-bit scale per 16 elements with the
// fp16 super-scale spread over their top nibbles. An importance matrix is optional.
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
constexpr int kBlock = 16;  // elements sharing one scale; each half has its own shift sign
constexpr int kNumBlocks = kQK / kBlock;

// ggml's block_iq1_m. It has no separate fp16 scale: the super-scale's 16 bits are spread over
// the top nibbles of the four scale words.
struct BlockIq1M {
  uint8_t qs[kQK / 8];        // low eight bits of each group's 11-bit grid index
  uint8_t qh[kQK / 16];       // per group pair: high index bits and shift signs, one nibble each
  kit::U16 scales[kQK / 64];  // 3-bit sub-block scales, super-scale nibbles on top
};
static_assert(sizeof(BlockIq1M) == kQK / 8 + kQK / 16 + kQK / 64 * sizeof(kit::U16));
// ggml's GROUP_MAX_EPS_IQ1_M.
constexpr float kGroupMaxEpsIq1m = 1e-7f;
// qh bits marking a negative shift: none, second group, first group, both.
constexpr uint8_t kShiftMasks[4] = {0x00, 0x80, 0x08, 0x88};

void block_weights(const float* xb, const float* qw, float sigma2, float* weight) {
  if (qw) {
    kit::imatrix_weights(xb, qw, sigma2, kBlock, weight);
  } else {
    for (int i = 0; i < kBlock; ++i) weight[i] = xb[i] * xb[i];
  }
}

// shifts[ib] (0..3) says which halves of sub-block ib use the negative shift: bit 1 the first,
// bit 0 the second. All-zero sub-blocks keep the previous super-block's value, as in ggml.
void encode_superblock(const kit::IqLattice& lat, const float* xbl, const float* qwbl, BlockIq1M& out, int8_t* shifts) {
  const float x_p[3] = {-1 + kit::kIq1mDelta, kit::kIq1mDelta, 1 + kit::kIq1mDelta};
  const float x_m[3] = {-1 - kit::kIq1mDelta, -kit::kIq1mDelta, 1 - kit::kIq1mDelta};
  auto values_for = [&](int k, int shift) -> const float* {
    if (k == 0) return shift < 2 ? x_p : x_m;
    return shift % 2 == 0 ? x_p : x_m;
  };

  out = BlockIq1M{};
  uint8_t* qs = out.qs;
  uint8_t* qh = out.qh;

  const float sigma2 = 2 * kit::sum_squares(xbl, kQK) / kQK;

  float scales[kNumBlocks];
  float max_scale = 0;
  float weight[kBlock];
  for (int ib = 0; ib < kNumBlocks; ++ib) {
    const float* xb = xbl + kBlock * ib;
    block_weights(xb, qwbl ? qwbl + kBlock * ib : nullptr, sigma2, weight);
    const float vmax = kit::abs_max(xb, kBlock);
    if (vmax < kGroupMaxEpsIq1m) {
      scales[ib] = 0;
      continue;
    }
    // Exhaustive search over the two split points of the sorted elements and the four shift
    // combinations of the two halves.
    int idx[kBlock];
    kit::iq1_sorted_order(xb, kBlock, idx);
    kit::Iq1SplitChoice best(vmax);
    for (int i1 = 0; i1 <= kBlock; ++i1) {
      for (int i2 = i1; i2 <= kBlock; ++i2) {
        float sumqx[4] = {}, sumq2[4] = {};
        for (int j = 0; j < kBlock; ++j) {
          const int lev = j < i1 ? 0 : (j < i2 ? 1 : 2);
          const int i = idx[j];
          const float w = weight[i];
          for (int k = 0; k < 4; ++k) {
            const float* xv = values_for(i < kBlock / 2 ? 0 : 1, k);
            sumqx[k] += w * xv[lev] * xb[i];
            sumq2[k] += w * xv[lev] * xv[lev];
          }
        }
        for (int k = 0; k < 4; ++k) {
          best.offer(sumqx[k], sumq2[k], i1, i2, k);
        }
      }
    }
    if (!best.found()) {  // unreachable for finite input
      scales[ib] = 0;
      continue;
    }
    int8_t L[kBlock];
    const int best_k = best.take_levels(idx, kBlock, L) ? 3 - best.shift : best.shift;
    float scale = best.scale;
    const float* const xx[2] = {values_for(0, best_k), values_for(1, best_k)};
    int index[2];
    if (!kit::iq1_snap_groups(lat, xb, weight, scale, xx, 2, L, index))
      scale = kit::iq1_refit_scale(lat, xb, weight, xx, 2, index, scale);
    qs[2 * ib] = static_cast<uint8_t>(index[0] & 255);
    qs[2 * ib + 1] = static_cast<uint8_t>(index[1] & 255);
    qh[ib] = static_cast<uint8_t>((index[0] >> 8) | ((index[1] >> 8) << 4));
    scales[ib] = scale;
    shifts[ib] = static_cast<int8_t>(best_k);
    max_scale = max_scale > scale ? max_scale : scale;
  }

  if (!max_scale) return;

  // Quantize the sub-scales, then refit the super-scale to the quantized values.
  uint16_t sc[4] = {};
  float d = max_scale / 15;
  const float id = 1 / d;
  float sumqx = 0, sumq2 = 0;
  for (int ib = 0; ib < kNumBlocks; ++ib) {
    const int l = kit::sub_scale_code(id, scales[ib], 7);
    sc[ib / 4] |= static_cast<uint16_t>(l << (3 * (ib % 4)));
    qh[ib] |= kShiftMasks[shifts[ib]];
    const float* xb = xbl + kBlock * ib;
    block_weights(xb, qwbl ? qwbl + kBlock * ib : nullptr, sigma2, weight);
    for (int k = 0; k < 2; ++k) {
      const float* xx = values_for(k, shifts[ib]);
      const int g = qs[2 * ib + k] + ((qh[ib] << (8 - 4 * k)) & 0x700);
      for (int j = 0; j < 8; ++j) {
        const float w = weight[8 * k + j];
        const float q = xx[lat.level(g, j)] * (2 * l + 1);
        sumqx += w * q * xb[8 * k + j];
        sumq2 += w * q * q;
      }
    }
  }
  if (sumq2 > 0) d = sumqx / sumq2;
  const uint16_t s = kit::fp32_to_fp16(d * 1.1125f);
  sc[0] |= static_cast<uint16_t>((s & 0x000f) << 12);
  sc[1] |= static_cast<uint16_t>((s & 0x00f0) << 8);
  sc[2] |= static_cast<uint16_t>((s & 0x0f00) << 4);
  sc[3] |= static_cast<uint16_t>(s & 0xf000);
  for (int i = 0; i < 4; ++i) kit::store(out.scales[i], sc[i]);
}

// Each row starts with all-positive shifts, so that rows encode independently.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  int8_t shifts[kNumBlocks] = {};
  return kit::encode_iq_blocks<kQK, BlockIq1M>(src, dst, n_rows, n_per_row, imatrix,
                                               {.imatrix_required = false, .finite_required = true},
                                               [&](const float* x, const float* qw, BlockIq1M& y, int64_t ib) {
                                                 if (ib == 0) std::fill(shifts, shifts + kNumBlocks, int8_t{0});
                                                 encode_superblock(kit::iq1s_lattice(), x, qw, y, shifts);
                                               });
}

void decode_block(const BlockIq1M& in, float* y) {
  uint16_t sc[4];
  for (int i = 0; i < 4; ++i) sc[i] = kit::load(in.scales[i]);
  const uint16_t dbits =
      static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000));
  const float d = kit::fp16_to_fp32(dbits);
  const uint8_t* qs = in.qs;
  const uint8_t* qh = in.qh;
  for (int ib = 0; ib < 8; ++ib) {
    const float dl[2] = {d * (2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 0x7) + 1),
                         d * (2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 0x7) + 1)};
    for (int l = 0; l < 4; ++l, y += 8) {
      const uint8_t h = qh[2 * ib + l / 2];
      const int shift = (l % 2) * 4;
      const int index = qs[4 * ib + l] | (((h >> shift) & 7) << 8);
      const float delta = (h >> shift) & 0x08 ? -kit::kIq1mDelta : kit::kIq1mDelta;
      kit::iq1_decode_group(kit::iq1s_grid[index], dl[l / 2], delta, y);
    }
  }
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_iq_blocks<kQK, BlockIq1M>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "29"}, {"gguf.file_type", "31"}};

const QfCodecDescriptor kCodec = {
    .name = "iq1_m",
    .description = "ggml IQ1_M: 1.75 bpw lattice quantization",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockIq1M),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-iq1_m", "0.1.0", kCodec)
