// IQ3_XXS: 256 weights as 3-bit lattice points (4 per grid index) with even-parity signs and
// a 4-bit scale per 32, under one fp16 super-scale (98 bytes), bit-exact with ggml's
// quantize_iq3_xxs / dequantize_row_iq3_xxs (quant-blocks.md §4.4, §4.8).
#include <cstdint>
#include <cstring>

#include "quantflow/codec.hpp"
#include "quantflow/numeric/block_fields.hpp"
#include "quantflow/numeric/block_rows.hpp"
#include "quantflow/numeric/iq3_grids.hpp"
#include "quantflow/numeric/iq3_scale_search.hpp"
#include "quantflow/numeric/iq_sub_block.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace qn = quantflow::numeric;

constexpr int64_t kBlockElems = 256;
constexpr int64_t kBlockBytes = 98;
constexpr float kGroupEps = 1e-8f;  // a 32-group whose largest magnitude is below this is zero

void encode_super_block(const qn::Iq3Search& s, const float* x, const float* qw, uint8_t* out) {
  uint8_t grid_idx[64] = {};
  uint32_t scales_and_signs[8] = {};
  float scales[8];
  float weight[32], waux[32], xval[32];
  int8_t L[32] = {};  // deliberately outside the loop: see iq3_search_scale
  uint8_t block_signs[4];

  const float sigma2 = 2.0f * qn::sum_squares(x, 256) / 256.0f;

  float max_scale = 0.0f;
  for (int ib = 0; ib < 8; ++ib) {
    const float* xb = x + 32 * ib;
    if (qw) {
      qn::imatrix_weights(xb, qw + 32 * ib, sigma2, 32, weight);
    } else {
      for (int i = 0; i < 32; ++i) weight[i] = xb[i] * xb[i];
    }
    qn::sqrt_weights(weight, 32, waux);
    for (int k = 0; k < 4; ++k) block_signs[k] = qn::even_parity_signs8(xb + 8 * k, weight + 8 * k, xval + 8 * k);
    const float max = qn::max_magnitude(xval, 32);
    if (max < kGroupEps) {
      scales[ib] = 0.0f;
      continue;
    }
    float scale = qn::iq3_search_scale(s, xval, weight, waux, max, 15, /*refit_all=*/false, L);
    if (scale < 0.0f) {
      scale = -scale;
      for (int k = 0; k < 4; ++k) block_signs[k] = static_cast<uint8_t>(~block_signs[k] & 127u);
    }
    for (int k = 0; k < 8; ++k) grid_idx[8 * ib + k] = static_cast<uint8_t>(qn::iq3_grid_index(s, L + 4 * k));
    scales_and_signs[ib] = static_cast<uint32_t>(block_signs[0]) | (static_cast<uint32_t>(block_signs[1]) << 7) |
                           (static_cast<uint32_t>(block_signs[2]) << 14) |
                           (static_cast<uint32_t>(block_signs[3]) << 21);
    scales[ib] = scale;
    max_scale = max_scale > scale ? max_scale : scale;
  }

  std::memset(out, 0, static_cast<size_t>(kBlockBytes));
  if (max_scale == 0.0f) return;  // d = +0 and every index/sign/scale zero

  const float d = max_scale / 31.0f;
  qn::put_u16(out, qn::fp32_to_fp16(d * 1.0125f));
  const float id = 1.0f / d;
  for (int ib = 0; ib < 8; ++ib)
    scales_and_signs[ib] |= static_cast<uint32_t>(qn::sub_scale_code(id, scales[ib], 15)) << 28;
  std::memcpy(out + 2, grid_idx, 64);
  for (int ib = 0; ib < 8; ++ib) qn::put_u32(out + 66 + 4 * ib, scales_and_signs[ib]);
}

void decode_super_block(const uint8_t* in, float* y) {
  const float d = qn::get_half(in);
  const uint8_t* qs = in + 2;
  for (int ib = 0; ib < 8; ++ib) {
    const uint32_t aux = qn::get_u32(in + 66 + 4 * ib);
    const float db = d * (0.5f + static_cast<float>(aux >> 28)) * 0.5f;
    for (int l = 0; l < 4; ++l) {
      qn::iq3_decode_group(qn::iq3xxs_grid[qs[8 * ib + 2 * l]], qn::iq3xxs_grid[qs[8 * ib + 2 * l + 1]],
                           qn::iq3_ksigns((aux >> (7 * l)) & 127u), db, y + 32 * ib + 8 * l);
    }
  }
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return qn::encode_iq_blocks<kBlockElems, kBlockBytes>(
      src, dst, n_rows, n_per_row, imatrix, {.imatrix_required = false, .finite_required = false},
      [](const float* x, const float* qw, uint8_t* y) { encode_super_block(qn::iq3_search(256), x, qw, y); });
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return qn::decode_iq_blocks<kBlockElems, kBlockBytes>(src, dst, n_rows, n_per_row, decode_super_block);
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
