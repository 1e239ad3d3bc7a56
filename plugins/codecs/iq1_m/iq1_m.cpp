// IQ1_M: 256-element super-blocks of 56 bytes (quant-blocks.md §4.7): 32 bytes of low
// grid-index bits (iq1s_grid), 16 bytes holding per group of 8 the high index bits and the
// sign of the +-0.125 shift, then four LE u16 packing a 3-bit scale per 16 elements with the
// fp16 super-scale spread over their top nibbles. An importance matrix is optional.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "quantflow/codec.hpp"
#include "quantflow/numeric/fp16.hpp"
#include "quantflow/numeric/iq1_grids.hpp"
#include "quantflow/numeric/quant_search.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace qn = quantflow::numeric;

constexpr int kQK = 256;
constexpr int kBlockBytes = 56;
constexpr int kBlock = 16;  // elements sharing one scale; each half has its own shift sign
constexpr int kNumBlocks = kQK / kBlock;
// ggml's GROUP_MAX_EPS_IQ1_M.
constexpr float kGroupMaxEpsIq1m = 1e-7f;
// qh bits marking a negative shift: none, second group, first group, both.
constexpr uint8_t kShiftMasks[4] = {0x00, 0x80, 0x08, 0x88};

inline float max_f(float a, float b) { return a > b ? a : b; }

inline uint32_t pack_levels(const int8_t* L) {
  uint32_t u = 0;
  for (int i = 0; i < 8; ++i) u |= static_cast<uint32_t>(L[i]) << (2 * i);
  return u;
}

void block_weights(const float* xb, const float* qw, float sigma2, float* weight) {
  if (qw) {
    for (int i = 0; i < kBlock; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
  } else {
    for (int i = 0; i < kBlock; ++i) weight[i] = xb[i] * xb[i];
  }
}

// shifts[ib] (0..3) says which halves of sub-block ib use the negative shift: bit 1 the first,
// bit 0 the second. All-zero sub-blocks keep the previous super-block's value, as in ggml.
void encode_superblock(const qn::IqLattice& lat, const float* xbl, const float* qwbl, uint8_t* out, int8_t* shifts) {
  const float x_p[3] = {-1 + qn::kIq1mDelta, qn::kIq1mDelta, 1 + qn::kIq1mDelta};
  const float x_m[3] = {-1 - qn::kIq1mDelta, -qn::kIq1mDelta, 1 - qn::kIq1mDelta};
  auto values_for = [&](int k, int shift) -> const float* {
    if (k == 0) return shift < 2 ? x_p : x_m;
    return shift % 2 == 0 ? x_p : x_m;
  };

  std::memset(out, 0, kBlockBytes);
  uint8_t* qs = out;
  uint8_t* qh = out + 32;

  float sumx2 = 0;
  for (int i = 0; i < kQK; ++i) sumx2 += xbl[i] * xbl[i];
  const float sigma2 = 2 * sumx2 / kQK;

  float scales[kNumBlocks];
  float max_scale = 0;
  float weight[kBlock];
  for (int ib = 0; ib < kNumBlocks; ++ib) {
    const float* xb = xbl + kBlock * ib;
    block_weights(xb, qwbl ? qwbl + kBlock * ib : nullptr, sigma2, weight);
    float vmax = std::fabs(xb[0]);
    for (int i = 1; i < kBlock; ++i) vmax = max_f(vmax, std::fabs(xb[i]));
    if (vmax < kGroupMaxEpsIq1m) {
      scales[ib] = 0;
      continue;
    }
    // Exhaustive search over the two split points of the sorted elements and the four shift
    // combinations of the two halves.
    int idx[kBlock];
    for (int j = 0; j < kBlock; ++j) idx[j] = j;
    std::stable_sort(idx, idx + kBlock, [&](int a, int b) { return xb[a] < xb[b]; });
    float best_score = -FLT_MIN, scale = vmax;
    int besti1 = -1, besti2 = -1, best_k = -1;
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
          if (sumq2[k] > 0 && sumqx[k] * sumqx[k] > best_score * sumq2[k]) {
            scale = sumqx[k] / sumq2[k];
            best_score = scale * sumqx[k];
            besti1 = i1;
            besti2 = i2;
            best_k = k;
          }
        }
      }
    }
    if (besti1 < 0) {  // unreachable for finite input
      scales[ib] = 0;
      continue;
    }
    int8_t L[kBlock];
    for (int j = 0; j < besti1; ++j) L[idx[j]] = 0;
    for (int j = besti1; j < besti2; ++j) L[idx[j]] = 1;
    for (int j = besti2; j < kBlock; ++j) L[idx[j]] = 2;
    if (scale < 0) {
      for (int j = 0; j < kBlock; ++j) L[j] = static_cast<int8_t>(2 - L[j]);
      scale = -scale;
      best_k = 3 - best_k;
    }
    bool all_on_grid = true;
    int index[2];
    for (int k = 0; k < 2; ++k) {
      const float* xx = values_for(k, best_k);
      const uint32_t u = pack_levels(L + 8 * k);
      int g = lat.lookup(u);
      if (g < 0) {
        all_on_grid = false;
        g = qn::iq1_find_best_neighbour(lat, u, xb + 8 * k, weight + 8 * k, scale, xx, L + 8 * k);
      }
      index[k] = g;
    }
    if (!all_on_grid) {
      float sumqx = 0, sumq2 = 0;
      for (int k = 0; k < 2; ++k) {
        const float* xx = values_for(k, best_k);
        for (int j = 0; j < 8; ++j) {
          const float w = weight[8 * k + j];
          const float q = xx[lat.level(index[k], j)];
          sumqx += w * q * xb[8 * k + j];
          sumq2 += w * q * q;
        }
      }
      if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
    }
    qs[2 * ib] = static_cast<uint8_t>(index[0] & 255);
    qs[2 * ib + 1] = static_cast<uint8_t>(index[1] & 255);
    qh[ib] = static_cast<uint8_t>((index[0] >> 8) | ((index[1] >> 8) << 4));
    scales[ib] = scale;
    shifts[ib] = static_cast<int8_t>(best_k);
    max_scale = max_f(max_scale, scale);
  }

  if (!max_scale) return;

  // Quantize the sub-scales, then refit the super-scale to the quantized values.
  uint16_t sc[4] = {};
  float d = max_scale / 15;
  const float id = 1 / d;
  float sumqx = 0, sumq2 = 0;
  for (int ib = 0; ib < kNumBlocks; ++ib) {
    int l = qn::nearest_int(0.5f * (id * scales[ib] - 1));
    l = l < 0 ? 0 : (l > 7 ? 7 : l);
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
  const uint16_t s = qn::fp32_to_fp16(d * 1.1125f);
  sc[0] |= static_cast<uint16_t>((s & 0x000f) << 12);
  sc[1] |= static_cast<uint16_t>((s & 0x00f0) << 8);
  sc[2] |= static_cast<uint16_t>((s & 0x0f00) << 4);
  sc[3] |= static_cast<uint16_t>(s & 0xf000);
  for (int i = 0; i < 4; ++i) {
    out[48 + 2 * i] = static_cast<uint8_t>(sc[i]);
    out[49 + 2 * i] = static_cast<uint8_t>(sc[i] >> 8);
  }
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  if (n_per_row % kQK != 0) return QF_CODEC_BAD_ROW_LENGTH;
  for (int64_t i = 0; i < n_rows * n_per_row; ++i)
    if (!std::isfinite(src[i])) return QF_CODEC_NON_FINITE;
  try {
    const qn::IqLattice& lat = qn::iq1s_lattice();
    auto* out = static_cast<uint8_t*>(dst);
    const int64_t nbl = n_per_row / kQK;
    for (int64_t r = 0; r < n_rows; ++r) {
      int8_t shifts[kNumBlocks] = {};  // per row, so that rows encode independently
      for (int64_t b = 0; b < nbl; ++b) {
        encode_superblock(lat, src + r * n_per_row + b * kQK, imatrix ? imatrix + b * kQK : nullptr, out, shifts);
        out += kBlockBytes;
      }
    }
  } catch (...) {
    return QF_CODEC_UNSUPPORTED;  // the search tables could not be allocated
  }
  return QF_CODEC_OK;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_per_row % kQK != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const uint8_t*>(src);
  const int64_t nblocks = n_rows * (n_per_row / kQK);
  float* y = dst;
  for (int64_t b = 0; b < nblocks; ++b, in += kBlockBytes) {
    uint16_t sc[4];
    for (int i = 0; i < 4; ++i) sc[i] = static_cast<uint16_t>(in[48 + 2 * i] | in[49 + 2 * i] << 8);
    const uint16_t dbits =
        static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000));
    const float d = qn::fp16_to_fp32(dbits);
    const uint8_t* qs = in;
    const uint8_t* qh = in + 32;
    for (int ib = 0; ib < 8; ++ib) {
      const float dl[2] = {d * (2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 0x7) + 1),
                           d * (2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 0x7) + 1)};
      for (int l = 0; l < 4; ++l) {
        const uint8_t h = qh[2 * ib + l / 2];
        const int shift = (l % 2) * 4;
        const int index = qs[4 * ib + l] | (((h >> shift) & 7) << 8);
        const float delta = (h >> shift) & 0x08 ? -qn::kIq1mDelta : qn::kIq1mDelta;
        const uint64_t grid = qn::iq1s_grid[index];
        for (int j = 0; j < 8; ++j) {
          const int8_t g = static_cast<int8_t>((grid >> (8 * j)) & 0xFF);
          *y++ = dl[l / 2] * (g + delta);
        }
      }
    }
  }
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"gguf", "29"}, {"gguf.file_type", "31"}};

const QfCodecDescriptor kCodec = {
    "iq1_m",
    "ggml IQ1_M: 1.75 bpw lattice quantization",
    kQK,
    kBlockBytes,
    static_cast<uint32_t>(quantflow::DTypeKind::quantized),
    QF_CODEC_IMATRIX_USED,
    kIds,
    2,
    encode,
    decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-iq1_m", "0.1.0", kCodec)
