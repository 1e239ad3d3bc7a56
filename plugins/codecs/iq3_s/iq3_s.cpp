// IQ3_S: 256 weights as 3-bit lattice points (4 per 9-bit grid index), explicit sign bits
// and a 4-bit scale per 32, under one fp16 super-scale (110 bytes), bit-exact with ggml's
// quantize_iq3_s / dequantize_row_iq3_s (quant-blocks.md §4.5, §4.8).
#include <cstdint>
#include <cstring>
#include <iterator>

#include "quantflow/codec.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/iq3_grids.hpp"
#include "codec_kit/iq3_scale_search.hpp"
#include "codec_kit/iq_sub_block.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int64_t kBlockElems = 256;

// ggml's block_iq3_s.
struct BlockIq3S {
  kit::Half d;
  uint8_t qs[kBlockElems / 4];       // low eight bits of each group of four's 9-bit grid index
  uint8_t qh[kBlockElems / 32];      // ninth index bits, one per group of four
  uint8_t signs[kBlockElems / 8];    // one sign byte per group of eight
  uint8_t scales[kBlockElems / 64];  // 4-bit scales, two per byte
};
static_assert(sizeof(BlockIq3S) ==
              sizeof(kit::Half) + kBlockElems / 4 + kBlockElems / 32 + kBlockElems / 8 + kBlockElems / 64);

void encode_super_block(const kit::Iq3Search& s, const float* x, const float* qw, BlockIq3S& out) {
  out = BlockIq3S{};
  uint8_t* qh = out.qh;
  // ggml advances its index and sign cursors only past 32-groups that are not all zero, so
  // a zero group leaves its slots to the groups that follow it; the cursors reproduce that.
  int qs_pos = 0;
  int signs_pos = 0;
  float scales[8];
  float weight[32], waux[32], xval[32];
  int8_t L[32] = {};  // deliberately outside the loop: see iq3_search_scale
  uint8_t block_signs[4];

  const float sigma2 = 2.0f * kit::sum_squares(x, 256) / 256.0f;

  float max_scale = 0.0f;
  for (int ib = 0; ib < 8; ++ib) {
    const float* xb = x + 32 * ib;
    if (qw) {
      kit::imatrix_weights(xb, qw + 32 * ib, sigma2, 32, weight);
    } else {
      for (int i = 0; i < 32; ++i) weight[i] = xb[i] * xb[i];
    }
    kit::sqrt_weights(weight, 32, waux);
    for (int k = 0; k < 4; ++k) block_signs[k] = kit::split_signs8(xb + 8 * k, xval + 8 * k);
    const float max = kit::max_magnitude(xval, 32);
    if (max == 0.0f) {
      scales[ib] = 0.0f;
      continue;
    }
    // Unlike IQ3_XXS, every group is re-fitted, on the grid or not.
    float scale = kit::iq3_search_scale(s, xval, weight, waux, max, 9, /*refit_all=*/true, L);
    if (scale < 0.0f) {
      scale = -scale;
      for (int k = 0; k < 4; ++k) block_signs[k] = static_cast<uint8_t>(~block_signs[k]);
    }
    for (int k = 0; k < 8; ++k) {
      const int g = kit::iq3_grid_index(s, L + 4 * k);
      out.qs[qs_pos + k] = static_cast<uint8_t>(g & 255);
      const int bit = ib * 8 + k;
      qh[bit / 8] = static_cast<uint8_t>(qh[bit / 8] | ((g >> 8) << (bit % 8)));
    }
    qs_pos += 8;
    for (int k = 0; k < 4; ++k) out.signs[signs_pos + k] = block_signs[k];
    signs_pos += 4;
    scales[ib] = scale;
    max_scale = max_scale > scale ? max_scale : scale;
  }

  if (max_scale == 0.0f) return;

  const float d = max_scale / 31.0f;
  kit::store(out.d, d * 1.033f);
  const float id = 1.0f / d;
  for (int ib = 0; ib < 8; ib += 2) {
    const int l1 = kit::sub_scale_code(id, scales[ib], 15);
    const int l2 = kit::sub_scale_code(id, scales[ib + 1], 15);
    out.scales[ib / 2] = static_cast<uint8_t>(l1 | (l2 << 4));
  }
}

void decode_super_block(const BlockIq3S& in, float* y) {
  const float d = kit::load(in.d);
  const uint8_t* qs = in.qs;
  const uint8_t* qh = in.qh;
  const uint8_t* signs = in.signs;
  const uint8_t* scales = in.scales;
  for (int ib = 0; ib < 8; ++ib) {
    const int sc = (scales[ib / 2] >> (4 * (ib % 2))) & 0xF;
    const float db = d * static_cast<float>(1 + 2 * sc);
    for (int l = 0; l < 4; ++l) {
      const int i1 = qs[8 * ib + 2 * l] | (((qh[ib] >> (2 * l)) & 1) << 8);
      const int i2 = qs[8 * ib + 2 * l + 1] | (((qh[ib] >> (2 * l + 1)) & 1) << 8);
      kit::iq3_decode_group(kit::iq3s_grid[i1], kit::iq3s_grid[i2], signs[4 * ib + l], db, y + 32 * ib + 8 * l);
    }
  }
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_iq_blocks<kBlockElems, BlockIq3S>(
      src, dst, n_rows, n_per_row, imatrix, {.imatrix_required = false, .finite_required = true},
      [](const float* x, const float* qw, BlockIq3S& y) { encode_super_block(kit::iq3_search(512), x, qw, y); });
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_iq_blocks<kBlockElems, BlockIq3S>(src, dst, n_rows, n_per_row, decode_super_block);
}

constexpr QfContainerId kIds[] = {{"gguf", "21"}, {"gguf.file_type", "26"}};

constexpr QfCodecDescriptor kCodec = {
    .name = "iq3_s",
    .description = "IQ3_S: 3-bit lattice (512-point grid), sign bits, 4-bit scale per 32, fp16 per 256 (3.44 bpw)",
    .block_elems = kBlockElems,
    .block_bytes = sizeof(BlockIq3S),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_IMATRIX_USED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-iq3_s", "0.1.0", kCodec)
