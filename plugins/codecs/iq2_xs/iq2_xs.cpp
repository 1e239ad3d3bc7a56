// IQ2_XS: 256-element super-blocks of 74 bytes (quant-blocks.md §4.2): an fp16 super-scale,
// 32 LE u16 (per 8 elements: bits 0-8 index into iq2xs_grid, bits 9-15 a ksigns_iq2xs index),
// then 8 bytes of 4-bit scales, one per 16 elements. ggml defines the encoding only with an
// importance matrix.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "quantflow/codec.hpp"
#include "quantflow/numeric/fp16.hpp"
#include "quantflow/numeric/iq2_grids.hpp"
#include "quantflow/numeric/quant_search.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace qn = quantflow::numeric;

constexpr int kQK = 256;
constexpr int kBlockBytes = 74;
constexpr int kMaxQ = 3;

inline float max_f(float a, float b) { return a > b ? a : b; }

inline uint32_t pack_levels(const int8_t* L) {
  uint32_t u = 0;
  for (int i = 0; i < 8; ++i) u |= static_cast<uint32_t>(L[i]) << (2 * i);
  return u;
}

// Rounds the group to levels at inverse scale id and snaps it to the grid (nearest neighbour
// at `scale` when off the grid). L receives the levels; returns whether it was on the grid.
bool snap_group(const qn::IqLattice& lat, const float* xval, const float* waux, float id, float scale, int8_t* L) {
  for (int i = 0; i < 8; ++i) {
    const int l = qn::nearest_int(0.5f * (id * xval[i] - 1));
    L[i] = static_cast<int8_t>(l < 0 ? 0 : (l > kMaxQ - 1 ? kMaxQ - 1 : l));
  }
  const uint32_t u = pack_levels(L);
  if (lat.lookup(u) >= 0) return true;
  qn::iq2_find_best_neighbour(lat, u, xval, waux, scale, L);
  return false;
}

void encode_superblock(const qn::IqLattice& lat, const float* xbl, const float* qwbl, uint8_t* out) {
  float sumx2 = 0;
  for (int i = 0; i < kQK; ++i) sumx2 += xbl[i] * xbl[i];
  const float sigma2 = sumx2 / kQK;

  uint16_t q2[32] = {};
  float scales[16];
  float max_scale = 0;

  for (int ib = 0; ib < 16; ++ib) {
    const float* xb = xbl + 16 * ib;
    const float* qw = qwbl + 16 * ib;
    float weight[16], waux[16], xval[16];
    uint8_t signs[2];
    for (int i = 0; i < 16; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
    for (int i = 0; i < 16; ++i) waux[i] = std::sqrt(weight[i]);
    // Magnitudes with an even number of negative signs per group of eight: an odd count is
    // fixed by flipping the cheapest element (smallest weight * x^2).
    for (int k = 0; k < 2; ++k) {
      int negatives = 0;
      uint8_t s = 0;
      for (int i = 0; i < 8; ++i) {
        const float v = xb[8 * k + i];
        if (v >= 0) {
          xval[8 * k + i] = v;
        } else {
          xval[8 * k + i] = -v;
          ++negatives;
          s |= static_cast<uint8_t>(1u << i);
        }
      }
      if (negatives % 2) {
        int imin = 0;
        float cmin = weight[8 * k] * xb[8 * k] * xb[8 * k];
        for (int i = 1; i < 8; ++i) {
          const float c = weight[8 * k + i] * xb[8 * k + i] * xb[8 * k + i];
          if (c < cmin) {
            cmin = c;
            imin = i;
          }
        }
        xval[8 * k + imin] = -xval[8 * k + imin];
        s ^= static_cast<uint8_t>(1u << imin);
      }
      signs[k] = s & 127;
    }
    float vmax = xval[0];
    for (int i = 1; i < 16; ++i) vmax = max_f(vmax, xval[i]);
    if (vmax < qn::kGroupMaxEps) {
      scales[ib] = 0;
      continue;
    }

    int8_t L[16] = {}, Laux[16];
    bool on_grid[2] = {true, true};
    float best = 0;
    float scale = vmax / (2 * kMaxQ - 1);
    for (int is = -9; is <= 9; ++is) {
      const float id = (2 * kMaxQ - 1 + is * 0.1f) / vmax;
      const float this_scale = 1 / id;
      bool on_grid_aux[2];
      for (int k = 0; k < 2; ++k)
        on_grid_aux[k] = snap_group(lat, xval + 8 * k, waux + 8 * k, id, this_scale, Laux + 8 * k);
      float sumqx = 0, sumq2 = 0;
      for (int i = 0; i < 16; ++i) {
        const float w = weight[i];
        const float q = 2 * Laux[i] + 1;
        sumqx += w * xval[i] * q;
        sumq2 += w * q * q;
      }
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        scale = sumqx / sumq2;
        best = scale * sumqx;
        std::memcpy(L, Laux, 16);
        on_grid[0] = on_grid_aux[0];
        on_grid[1] = on_grid_aux[1];
      }
    }
    if ((!on_grid[0] || !on_grid[1]) && scale > 0) {
      const float id = 1 / scale;
      for (int k = 0; k < 2; ++k) {
        if (on_grid[k]) continue;
        snap_group(lat, xval + 8 * k, waux + 8 * k, id, scale, L + 8 * k);
      }
      float sumqx = 0, sumq2 = 0;
      for (int i = 0; i < 16; ++i) {
        const float w = weight[i];
        const float q = 2 * L[i] + 1;
        sumqx += w * xval[i] * q;
        sumq2 += w * q * q;
      }
      if (sumq2 > 0) scale = sumqx / sumq2;
    }
    if (scale < 0) {
      scale = -scale;
      for (int k = 0; k < 2; ++k) signs[k] = static_cast<uint8_t>(~signs[k] & 127);
    }
    for (int k = 0; k < 2; ++k) {
      int g = lat.lookup(pack_levels(L + 8 * k));
      if (g < 0) g = 0;  // unreachable: L always comes from a grid entry here
      q2[2 * ib + k] = static_cast<uint16_t>(g | (signs[k] << 9));
    }
    scales[ib] = scale;
    max_scale = max_f(max_scale, scale);
  }

  if (!max_scale) {
    std::memset(out, 0, kBlockBytes);
    return;
  }
  const float d = max_scale / 31;
  const uint16_t dh = qn::fp32_to_fp16(d);
  const float id = 1 / d;
  uint8_t sc[8] = {};
  for (int ib = 0; ib < 16; ++ib) {
    int l = qn::nearest_int(0.5f * (id * scales[ib] - 1));
    l = l < 0 ? 0 : (l > 15 ? 15 : l);
    sc[ib / 2] |= static_cast<uint8_t>(l << (4 * (ib % 2)));
  }
  out[0] = static_cast<uint8_t>(dh);
  out[1] = static_cast<uint8_t>(dh >> 8);
  for (int i = 0; i < 32; ++i) {
    out[2 + 2 * i] = static_cast<uint8_t>(q2[i]);
    out[3 + 2 * i] = static_cast<uint8_t>(q2[i] >> 8);
  }
  std::memcpy(out + 66, sc, 8);
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  if (n_per_row % kQK != 0) return QF_CODEC_BAD_ROW_LENGTH;
  if (!imatrix) return QF_CODEC_NEEDS_IMATRIX;
  for (int64_t i = 0; i < n_rows * n_per_row; ++i)
    if (!std::isfinite(src[i])) return QF_CODEC_NON_FINITE;
  try {
    const qn::IqLattice& lat = qn::iq2xs_lattice();
    auto* out = static_cast<uint8_t*>(dst);
    const int64_t nbl = n_per_row / kQK;
    for (int64_t r = 0; r < n_rows; ++r) {
      for (int64_t b = 0; b < nbl; ++b) {
        encode_superblock(lat, src + r * n_per_row + b * kQK, imatrix + b * kQK, out);
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
    const uint8_t* scales = in + 66;
    for (int ib = 0; ib < 8; ++ib) {
      const float db[2] = {d * (0.5f + (scales[ib] & 0xf)) * 0.25f, d * (0.5f + (scales[ib] >> 4)) * 0.25f};
      for (int l = 0; l < 4; ++l) {
        const uint8_t* q = in + 2 + 2 * (4 * ib + l);
        const uint16_t v = static_cast<uint16_t>(q[0] | q[1] << 8);
        const uint64_t grid = qn::iq2xs_grid[v & 511];
        const uint8_t signs = qn::ksigns_iq2xs[v >> 9];
        for (int j = 0; j < 8; ++j) {
          const float g = static_cast<float>((grid >> (8 * j)) & 0xFF);
          *y++ = db[l / 2] * g * (signs & qn::kmask_iq2xs[j] ? -1.f : 1.f);
        }
      }
    }
  }
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"gguf", "17"}, {"gguf.file_type", "20"}};

const QfCodecDescriptor kCodec = {
    "iq2_xs",
    "ggml IQ2_XS: 2.31 bpw lattice quantization (needs an importance matrix)",
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

QUANTFLOW_CODEC_PLUGIN("codec-iq2_xs", "0.1.0", kCodec)
