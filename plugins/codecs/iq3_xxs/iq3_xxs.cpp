// IQ3_XXS: 256 weights as 3-bit lattice points (4 per grid index) with even-parity signs and
// a 4-bit scale per 32, under one fp16 super-scale (98 bytes), bit-exact with ggml's
// quantize_iq3_xxs / dequantize_row_iq3_xxs (quant-blocks.md §4.4, §4.8).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "quantflow/codec.hpp"
#include "quantflow/numeric/fp16.hpp"
#include "quantflow/numeric/iq3_grids.hpp"
#include "quantflow/numeric/quant_search.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace qn = quantflow::numeric;

constexpr int64_t kBlockElems = 256;
constexpr int64_t kBlockBytes = 98;
constexpr int kMaxQ = 8;
constexpr float kGroupEps = 1e-8f;  // a 32-group whose largest magnitude is below this is zero

int clamp_level(int l) { return l < 0 ? 0 : (l > kMaxQ - 1 ? kMaxQ - 1 : l); }

// Levels of 4 magnitudes at inverse scale id, packed 3 bits each; also stored to L.
uint16_t levels_at(const float* xval, float id, int8_t* L) {
  uint16_t u = 0;
  for (int i = 0; i < 4; ++i) {
    const int l = clamp_level(qn::nearest_int(0.5f * (id * xval[i] - 1.0f)));
    L[i] = static_cast<int8_t>(l);
    u = static_cast<uint16_t>(u | (l << (3 * i)));
  }
  return u;
}

void encode_super_block(const qn::Iq3Search& s, const float* x, const float* qw, uint8_t* out) {
  uint8_t q3[96] = {};
  uint8_t* grid_idx = q3;  // 64 grid indices
  uint32_t scales_and_signs[8] = {};
  float scales[8];
  float weight[32], waux[32], xval[32];
  int8_t L[32], Laux[32];
  bool on_grid[8], on_grid_aux[8];
  uint8_t block_signs[4];

  float sumx2 = 0.0f;
  for (int i = 0; i < 256; ++i) sumx2 += x[i] * x[i];
  const float sigma2 = 2.0f * sumx2 / 256.0f;

  float max_scale = 0.0f;
  for (int ib = 0; ib < 8; ++ib) {
    const float* xb = x + 32 * ib;
    if (qw) {
      const float* w = qw + 32 * ib;
      for (int i = 0; i < 32; ++i) weight[i] = w[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
    } else {
      for (int i = 0; i < 32; ++i) weight[i] = xb[i] * xb[i];
    }
    for (int i = 0; i < 32; ++i) waux[i] = std::sqrt(weight[i]);
    // Magnitudes and signs per 8; an odd count of negatives flips the least important one.
    for (int k = 0; k < 4; ++k) {
      int nflip = 0;
      unsigned sgn = 0;
      for (int i = 0; i < 8; ++i) {
        const float v = xb[8 * k + i];
        if (v >= 0.0f) {
          xval[8 * k + i] = v;
        } else {
          xval[8 * k + i] = -v;
          ++nflip;
          sgn |= 1u << i;
        }
      }
      if (nflip % 2) {
        int imin = 0;
        float min = weight[8 * k] * xb[8 * k] * xb[8 * k];
        for (int i = 1; i < 8; ++i) {
          const float ax = weight[8 * k + i] * xb[8 * k + i] * xb[8 * k + i];
          if (ax < min) {
            min = ax;
            imin = i;
          }
        }
        xval[8 * k + imin] = -xval[8 * k + imin];
        sgn ^= 1u << imin;
      }
      block_signs[k] = static_cast<uint8_t>(sgn & 127u);
    }
    float max = xval[0];
    for (int i = 1; i < 32; ++i) max = max > xval[i] ? max : xval[i];
    if (max < kGroupEps) {
      scales[ib] = 0.0f;
      continue;
    }
    float best = 0.0f;
    float scale = max / static_cast<float>(2 * kMaxQ - 1);
    for (int k = 0; k < 8; ++k) on_grid[k] = true;
    for (int is = -15; is <= 15; ++is) {
      const float id = (static_cast<float>(2 * kMaxQ - 1) + static_cast<float>(is) * 0.2f) / max;
      const float this_scale = 1.0f / id;
      for (int k = 0; k < 8; ++k) {
        const uint16_t u = levels_at(xval + 4 * k, id, Laux + 4 * k);
        const int g = s.map[u];
        on_grid_aux[k] = g >= 0;
        if (g < 0) qn::iq3_best_neighbour(s, s.neighbours_of(g), xval + 4 * k, waux + 4 * k, this_scale, Laux + 4 * k);
      }
      float sumqx = 0.0f, sumq2 = 0.0f;
      for (int i = 0; i < 32; ++i) {
        const float w = weight[i];
        const float q = static_cast<float>(2 * Laux[i] + 1);
        sumqx += w * xval[i] * q;
        sumq2 += w * q * q;
      }
      if (sumq2 > 0.0f && sumqx * sumqx > best * sumq2) {
        scale = sumqx / sumq2;
        best = scale * sumqx;
        std::memcpy(L, Laux, sizeof(L));
        std::memcpy(on_grid, on_grid_aux, sizeof(on_grid));
      }
    }
    int n_off = 0;
    for (int k = 0; k < 8; ++k) n_off += on_grid[k] ? 0 : 1;
    if (n_off > 0 && scale > 0.0f) {
      const float id = 1.0f / scale;
      for (int k = 0; k < 8; ++k) {
        if (on_grid[k]) continue;
        int8_t tmp[4];
        const uint16_t u = levels_at(xval + 4 * k, id, tmp);
        int g = s.map[u];
        if (g < 0) g = qn::iq3_best_neighbour(s, s.neighbours_of(g), xval + 4 * k, waux + 4 * k, scale, L + 4 * k);
        for (int i = 0; i < 4; ++i) L[4 * k + i] = static_cast<int8_t>(s.level(g, i));
      }
      float sumqx = 0.0f, sumq2 = 0.0f;
      for (int i = 0; i < 32; ++i) {
        const float w = weight[i];
        const float q = static_cast<float>(2 * L[i] + 1);
        sumqx += w * xval[i] * q;
        sumq2 += w * q * q;
      }
      if (sumq2 > 0.0f) scale = sumqx / sumq2;
    }
    if (scale < 0.0f) {
      scale = -scale;
      for (int k = 0; k < 4; ++k) block_signs[k] = static_cast<uint8_t>(~block_signs[k] & 127u);
    }
    for (int k = 0; k < 8; ++k) {
      uint16_t u = 0;
      for (int i = 0; i < 4; ++i) u = static_cast<uint16_t>(u | (L[4 * k + i] << (3 * i)));
      const int g = s.map[u];
      grid_idx[8 * ib + k] = static_cast<uint8_t>(g < 0 ? 0 : g);  // always on the grid by construction
    }
    scales_and_signs[ib] = static_cast<uint32_t>(block_signs[0]) | (static_cast<uint32_t>(block_signs[1]) << 7) |
                           (static_cast<uint32_t>(block_signs[2]) << 14) |
                           (static_cast<uint32_t>(block_signs[3]) << 21);
    scales[ib] = scale;
    max_scale = max_scale > scale ? max_scale : scale;
  }

  std::memset(out, 0, static_cast<size_t>(kBlockBytes));
  if (max_scale == 0.0f) return;  // d = +0 and every index/sign/scale zero

  const float d = max_scale / 31.0f;
  const uint16_t h = qn::fp32_to_fp16(d * 1.0125f);
  out[0] = static_cast<uint8_t>(h & 0xFF);
  out[1] = static_cast<uint8_t>(h >> 8);
  const float id = 1.0f / d;
  for (int ib = 0; ib < 8; ++ib) {
    int l = qn::nearest_int(0.5f * (id * scales[ib] - 1.0f));
    l = l < 0 ? 0 : (l > 15 ? 15 : l);
    scales_and_signs[ib] |= static_cast<uint32_t>(l) << 28;
  }
  std::memcpy(out + 2, grid_idx, 64);
  for (int ib = 0; ib < 8; ++ib) {
    for (int b = 0; b < 4; ++b) out[66 + 4 * ib + b] = static_cast<uint8_t>(scales_and_signs[ib] >> (8 * b));
  }
}

void decode_super_block(const uint8_t* in, float* y) {
  const float d = qn::fp16_to_fp32(static_cast<uint16_t>(in[0] | (in[1] << 8)));
  const uint8_t* qs = in + 2;
  const uint8_t* sas = in + 66;
  for (int ib = 0; ib < 8; ++ib) {
    const uint32_t aux = static_cast<uint32_t>(sas[4 * ib]) | (static_cast<uint32_t>(sas[4 * ib + 1]) << 8) |
                         (static_cast<uint32_t>(sas[4 * ib + 2]) << 16) |
                         (static_cast<uint32_t>(sas[4 * ib + 3]) << 24);
    const float db = d * (0.5f + static_cast<float>(aux >> 28)) * 0.5f;
    for (int l = 0; l < 4; ++l) {
      const uint8_t signs = qn::iq3_ksigns((aux >> (7 * l)) & 127u);
      const uint32_t g1 = qn::iq3xxs_grid[qs[8 * ib + 2 * l]];
      const uint32_t g2 = qn::iq3xxs_grid[qs[8 * ib + 2 * l + 1]];
      float* yy = y + 32 * ib + 8 * l;
      for (int j = 0; j < 4; ++j) {
        yy[j] = db * static_cast<float>((g1 >> (8 * j)) & 0xFF) * ((signs >> j) & 1 ? -1.0f : 1.0f);
        yy[j + 4] = db * static_cast<float>((g2 >> (8 * j)) & 0xFF) * ((signs >> (j + 4)) & 1 ? -1.0f : 1.0f);
      }
    }
  }
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  if (n_per_row % kBlockElems != 0) return QF_CODEC_BAD_ROW_LENGTH;
  try {
    const auto& s = qn::iq3_search(256);
    const int64_t nb = n_per_row / kBlockElems;
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t r = 0; r < n_rows; ++r) {
      for (int64_t b = 0; b < nb; ++b) {
        encode_super_block(s, src + r * n_per_row + b * kBlockElems, imatrix ? imatrix + b * kBlockElems : nullptr,
                           out + (r * nb + b) * kBlockBytes);
      }
    }
  } catch (...) {
    return QF_CODEC_UNSUPPORTED;  // only reachable if building the search tables fails to allocate
  }
  return QF_CODEC_OK;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (n_per_row % kBlockElems != 0) return QF_CODEC_BAD_ROW_LENGTH;
  const int64_t n_blocks = n_rows * (n_per_row / kBlockElems);
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t b = 0; b < n_blocks; ++b) decode_super_block(in + b * kBlockBytes, dst + b * kBlockElems);
  return QF_CODEC_OK;
}

constexpr QfContainerId kIds[] = {{"gguf", "18"}, {"gguf.file_type", "23"}};

constexpr QfCodecDescriptor kCodec = {
    "iq3_xxs",
    "IQ3_XXS: 3-bit lattice (256-point grid), 4-bit scale per 32, fp16 per 256 (3.06 bpw)",
    kBlockElems,
    kBlockBytes,
    static_cast<uint32_t>(quantflow::DTypeKind::quantized),
    QF_CODEC_IMATRIX_USED,
    kIds,
    2,
    encode,
    decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-iq3_xxs", "0.1.0", kCodec)
