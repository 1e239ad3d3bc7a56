// ggml's scale searches (ggml-quants.c), shared by every codec that must match ggml bit for
// bit. Everything stays in float with sequential sums and float literals, because a single
// double or reordered sum changes which candidate scale wins (quant-blocks.md §3A, §12).
#pragma once

#include <bit>
#include <cstdint>

#include "codec_kit/block_extremes.hpp"

namespace quantflow::codec_kit {

// Minimum magnitude treated as a non-zero group (ggml's GROUP_MAX_EPS).
inline constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest, ties to even, independent of the FP rounding mode; valid for |f| <= 4194303.
inline int nearest_int(float f) {
  const float v = f + 12582912.f;
  const int32_t i = std::bit_cast<int32_t>(v);
  return (i & 0x007FFFFF) - 0x00400000;
}

// Symmetric scale search; L gets signed codes offset by nmax (0..2*nmax-1). qw null -> x^2 weights.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, int rmse_type, const float* qw);

// Same search writing unsigned codes, for callers that pack L straight into nibbles (codes fit 0..127).
inline float make_qx_quants(int n, int nmax, const float* x, uint8_t* L, int rmse_type, const float* qw) {
  return make_qx_quants(n, nmax, x, reinterpret_cast<int8_t*>(L), rmse_type, qw);
}

// Q3_K sub-block search with iterative per-element refinement; L gets codes offset by nmax,
// except an all-zero group leaves L = 0 un-offset (as ggml does).
float make_q3_quants(int n, int nmax, const float* x, int8_t* L, bool do_rmse);

// Asymmetric (scale, min) search; L gets 0..nmax, *the_min = -min >= 0, Laux is n bytes of scratch.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min, uint8_t* Laux,
                       float rmin, float rdelta, int nstep, bool use_mad);

// As make_qkx2_quants, but weights may be null (then x^2) and max <= min counts as degenerate.
float make_qkx3_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min, uint8_t* Laux,
                       float rmin, float rdelta, int nstep, bool use_mad);

// Scale for non-negative x (e.g. a block's sub-scales); L gets 0..nmax, weights qw are required.
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* qw);

}  // namespace quantflow::codec_kit
