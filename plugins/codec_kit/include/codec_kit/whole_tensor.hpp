// What the whole-tensor codecs (QF_CODEC_WHOLE_TENSOR: APR's native q4 and q8) share. The host
// calls them with one row holding the whole tensor; several rows are independent units of
// DType::bytes_for(n_per_row) bytes each, and any row length is valid.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "codec_kit/finite.hpp"
#include "quantflow/codec.hpp"

namespace quantflow::codec_kit {

// The argument checks of a whole-tensor encode: no row length is wrong, but the scales are
// derived from the values, so NaN and infinity are refused.
inline int32_t check_whole_tensor_encode(const float* src, int64_t n_rows, int64_t n_per_row) {
  if (n_rows < 0 || n_per_row < 0) return QF_CODEC_BAD_ROW_LENGTH;
  if (!all_finite(src, n_rows * n_per_row)) return QF_CODEC_NON_FINITE;
  return QF_CODEC_OK;
}

inline int32_t check_whole_tensor_decode(int64_t n_rows, int64_t n_per_row) {
  return n_rows < 0 || n_per_row < 0 ? QF_CODEC_BAD_ROW_LENGTH : QF_CODEC_OK;
}

// clamp(round_half_away_from_zero(x / s), lo, hi), dividing by the unrounded scale. A scale
// of amax / k can underflow to 0 for a few of the smallest subnormals; x / 0 then saturates
// (+-inf clamps to the range) and 0 / 0 is NaN, whose code is 0, the value x has.
inline int rounded_code(float x, float s, int lo, int hi) {
  const float t = x / s;
  if (std::isnan(t)) return 0;
  return static_cast<int>(std::clamp(std::round(t), static_cast<float>(lo), static_cast<float>(hi)));
}

}  // namespace quantflow::codec_kit
