// The pieces of ggml's IQ1_S / IQ1_M sub-block search that the two types share. Levels 0, 1, 2
// stand for -1, 0, +1 shifted by +-delta, so the best split of the sorted elements into three
// runs is found exhaustively, then snapped to the grid a group of eight at a time.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cstdint>

#include "codec_kit/iq2_scale_search.hpp"
#include "codec_kit/iq_grid_search.hpp"

namespace quantflow::codec_kit {

// Element indices ordered by value; stable, so equal values keep their order as in ggml.
inline void iq1_sorted_order(const float* xb, int n, int* idx) {
  for (int j = 0; j < n; ++j) idx[j] = j;
  std::stable_sort(idx, idx + n, [&](int a, int b) { return xb[a] < xb[b]; });
}

// The best split seen so far. Candidates are offered in ggml's order and the first one whose
// sumqx^2 / sumq2 beats the previous best is kept; `shift` is the caller's shift choice.
struct Iq1SplitChoice {
  float score = -FLT_MIN;
  float scale;
  int i1 = -1, i2 = -1, shift = 0;

  explicit Iq1SplitChoice(float initial_scale) : scale(initial_scale) {}

  bool found() const { return i1 >= 0; }

  void offer(float sumqx, float sumq2, int c_i1, int c_i2, int c_shift) {
    if (sumq2 > 0 && sumqx * sumqx > score * sumq2) {
      scale = sumqx / sumq2;
      score = scale * sumqx;
      i1 = c_i1;
      i2 = c_i2;
      shift = c_shift;
    }
  }

  // The levels of the split: sorted elements before i1 get 0, before i2 get 1, the rest 2. A
  // negative scale is folded into the levels (l -> 2 - l) and made positive; returns whether
  // that happened, since the caller must then take the opposite shift signs.
  bool take_levels(const int* idx, int n, int8_t* L) {
    for (int j = 0; j < i1; ++j) L[idx[j]] = 0;
    for (int j = i1; j < i2; ++j) L[idx[j]] = 1;
    for (int j = i2; j < n; ++j) L[idx[j]] = 2;
    if (scale >= 0) return false;
    for (int j = 0; j < n; ++j) L[j] = static_cast<int8_t>(2 - L[j]);
    scale = -scale;
    return true;
  }
};

// Snaps n_groups groups of eight to the grid, group k valued by xx[k]; index receives the grid
// entries. Returns whether every group was already on the grid.
bool iq1_snap_groups(const IqLattice& lat, const float* xb, const float* weight, float scale, const float* const* xx,
                     int n_groups, int8_t* L, int* index);

// The least-squares scale of the snapped groups; scale is kept when the fit is not positive.
float iq1_refit_scale(const IqLattice& lat, const float* xb, const float* weight, const float* const* xx, int n_groups,
                      const int* index, float scale);

}  // namespace quantflow::codec_kit
