// IQ1_S: 256-element super-blocks of 50 bytes (quant-blocks.md §4.6): an fp16 super-scale,
// 32 bytes of low grid-index bits (iq1s_grid, 2048 entries of -1/0/+1), then per 32 elements a
// LE u16 holding the high index bits (3 per group of 8), a 3-bit scale and the sign of the
// +-0.125 shift. ggml defines the encoding only with an importance matrix.
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
constexpr int kBlockBytes = 50;
constexpr int kBlock = 32;  // elements sharing one scale and one shift
// ggml's GROUP_MAX_EPS_IQ1_S.
constexpr float kGroupMaxEpsIq1s = 1e-12f;

inline float max_f(float a, float b) { return a > b ? a : b; }

inline uint32_t pack_levels(const int8_t* L) {
  uint32_t u = 0;
  for (int i = 0; i < 8; ++i) u |= static_cast<uint32_t>(L[i]) << (2 * i);
  return u;
}

// shifts[ib] is the shift sign (+1 / -1) chosen for sub-block ib; it carries over from the
// previous super-block of the row for sub-blocks that are all zero, as ggml's does.
void encode_superblock(const qn::IqLattice& lat, const float* xbl, const float* qwbl, uint8_t* out, int8_t* shifts) {
  const float x_p[3] = {-1 + qn::kIq1sDelta, qn::kIq1sDelta, 1 + qn::kIq1sDelta};
  const float x_m[3] = {-1 - qn::kIq1sDelta, -qn::kIq1sDelta, 1 - qn::kIq1sDelta};

  std::memset(out, 0, kBlockBytes);
  uint8_t* qs = out + 2;
  uint16_t qh[8] = {};

  float sumx2 = 0;
  for (int i = 0; i < kQK; ++i) sumx2 += xbl[i] * xbl[i];
  const float sigma2 = 2 * sumx2 / kQK;

  float scales[8];
  float max_scale = 0;
  for (int ib = 0; ib < kQK / kBlock; ++ib) {
    const float* xb = xbl + kBlock * ib;
    const float* qw = qwbl + kBlock * ib;
    float weight[kBlock];
    for (int i = 0; i < kBlock; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
    float vmax = std::fabs(xb[0]);
    for (int i = 1; i < kBlock; ++i) vmax = max_f(vmax, std::fabs(xb[i]));
    if (vmax < kGroupMaxEpsIq1s) {
      scales[ib] = 0;
      continue;
    }
    // The three values -1, 0, +1 split the sorted elements at two boundaries; with prefix sums
    // over the sorted order every split is scored exactly, for both shift signs.
    int idx[kBlock];
    for (int j = 0; j < kBlock; ++j) idx[j] = j;
    std::stable_sort(idx, idx + kBlock, [&](int a, int b) { return xb[a] < xb[b]; });
    float sumx[kBlock + 1], sumw[kBlock + 1];
    sumx[0] = sumw[0] = 0;
    for (int j = 0; j < kBlock; ++j) {
      const int i = idx[j];
      sumx[j + 1] = sumx[j] + weight[i] * xb[i];
      sumw[j + 1] = sumw[j] + weight[i];
    }
    float best_score = -FLT_MIN, scale = vmax;
    int besti1 = -1, besti2 = -1, best_shift = 0;
    for (int i1 = 0; i1 <= kBlock; ++i1) {
      for (int i2 = i1; i2 <= kBlock; ++i2) {
        for (int shift : {1, -1}) {
          const float* xv = shift == 1 ? x_p : x_m;
          const float sumqx =
              (sumx[i1] - sumx[0]) * xv[0] + (sumx[i2] - sumx[i1]) * xv[1] + (sumx[kBlock] - sumx[i2]) * xv[2];
          const float sumq2 = (sumw[i1] - sumw[0]) * xv[0] * xv[0] + (sumw[i2] - sumw[i1]) * xv[1] * xv[1] +
                              (sumw[kBlock] - sumw[i2]) * xv[2] * xv[2];
          if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
            scale = sumqx / sumq2;
            best_score = scale * sumqx;
            besti1 = i1;
            besti2 = i2;
            best_shift = shift;
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
      best_shift = -best_shift;
    }
    const float* xx = best_shift == 1 ? x_p : x_m;
    bool all_on_grid = true;
    int index[kBlock / 8];
    for (int k = 0; k < kBlock / 8; ++k) {
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
      for (int k = 0; k < kBlock / 8; ++k) {
        for (int j = 0; j < 8; ++j) {
          const float w = weight[8 * k + j];
          const float q = xx[lat.level(index[k], j)];
          sumqx += w * q * xb[8 * k + j];
          sumq2 += w * q * q;
        }
      }
      if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
    }
    uint16_t h = 0;
    for (int k = 0; k < kBlock / 8; ++k) {
      qs[(kBlock / 8) * ib + k] = static_cast<uint8_t>(index[k] & 255);
      h |= static_cast<uint16_t>((index[k] >> 8) << (3 * k));
    }
    qh[ib] = h;
    scales[ib] = scale;
    shifts[ib] = static_cast<int8_t>(best_shift);
    max_scale = max_f(max_scale, scale);
  }

  if (!max_scale) return;

  const float d = max_scale / 15;
  const uint16_t dh = qn::fp32_to_fp16(d * 1.125f);
  const float id = 1 / d;
  for (int ib = 0; ib < kQK / kBlock; ++ib) {
    int l = qn::nearest_int(0.5f * (id * scales[ib] - 1));
    l = l < 0 ? 0 : (l > 7 ? 7 : l);
    if (shifts[ib] == -1) l |= 8;
    qh[ib] |= static_cast<uint16_t>(l << 12);
  }
  out[0] = static_cast<uint8_t>(dh);
  out[1] = static_cast<uint8_t>(dh >> 8);
  for (int ib = 0; ib < 8; ++ib) {
    out[34 + 2 * ib] = static_cast<uint8_t>(qh[ib]);
    out[35 + 2 * ib] = static_cast<uint8_t>(qh[ib] >> 8);
  }
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  if (n_per_row % kQK != 0) return QF_CODEC_BAD_ROW_LENGTH;
  if (!imatrix) return QF_CODEC_NEEDS_IMATRIX;
  for (int64_t i = 0; i < n_rows * n_per_row; ++i)
    if (!std::isfinite(src[i])) return QF_CODEC_NON_FINITE;
  try {
    const qn::IqLattice& lat = qn::iq1s_lattice();
    auto* out = static_cast<uint8_t*>(dst);
    const int64_t nbl = n_per_row / kQK;
    for (int64_t r = 0; r < n_rows; ++r) {
      int8_t shifts[kQK / kBlock] = {};  // per row, so that rows encode independently
      for (int64_t b = 0; b < nbl; ++b) {
        encode_superblock(lat, src + r * n_per_row + b * kQK, imatrix + b * kQK, out, shifts);
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
    const float d = qn::fp16_to_fp32(static_cast<uint16_t>(in[0] | in[1] << 8));
    const uint8_t* qs = in + 2;
    for (int ib = 0; ib < 8; ++ib) {
      const uint16_t qh = static_cast<uint16_t>(in[34 + 2 * ib] | in[35 + 2 * ib] << 8);
      const float dl = d * (2 * ((qh >> 12) & 7) + 1);
      const float delta = qh & 0x8000 ? -qn::kIq1sDelta : qn::kIq1sDelta;
      for (int l = 0; l < 4; ++l) {
        const uint64_t grid = qn::iq1s_grid[qs[4 * ib + l] | (((qh >> (3 * l)) & 7) << 8)];
        for (int j = 0; j < 8; ++j) {
          const int8_t g = static_cast<int8_t>((grid >> (8 * j)) & 0xFF);
          *y++ = dl * (g + delta);
        }
      }
    }
  }
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"gguf", "19"}, {"gguf.file_type", "24"}};

const QfCodecDescriptor kCodec = {
    "iq1_s",
    "ggml IQ1_S: 1.56 bpw lattice quantization (needs an importance matrix)",
    kQK,
    kBlockBytes,
    static_cast<uint32_t>(quantflow::DTypeKind::quantized),
    QF_CODEC_IMATRIX_REQUIRED | QF_CODEC_IMATRIX_USED,
    kIds,
    2,
    encode,
    decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-iq1_s", "0.1.0", kCodec)
