// The pieces of ggml's IQ2 scale searches (quantize_row_iq2_xxs/xs/s_impl) that the three types
// share: snapping a group of eight to the 2-bit lattice at a trial scale, and the 16-element
// search IQ2_XS and IQ2_S run unchanged.
#pragma once

#include <cstdint>
#include <cstring>

#include "quantflow/numeric/iq_grid_search.hpp"
#include "quantflow/numeric/iq_sub_block.hpp"
#include "quantflow/numeric/quant_search.hpp"

namespace quantflow::numeric {

// Levels per element are 0..2 (positions 1, 3, 5).
inline constexpr int kIq2MaxQ = 3;

// The lattice map's key: eight levels, two bits each, element i in bits 2i..2i+1.
inline uint32_t pack_lattice_levels(const int8_t* L) {
  uint32_t u = 0;
  for (int i = 0; i < 8; ++i) u |= static_cast<uint32_t>(L[i]) << (2 * i);
  return u;
}

// Rounds the group to levels at inverse scale id and snaps it to the grid (nearest neighbour
// at `scale` when off the grid). L receives the levels; returns whether it was on the grid.
inline bool iq2_snap_group(const IqLattice& lat, const float* xval, const float* waux, float id, float scale,
                           int8_t* L) {
  for (int i = 0; i < 8; ++i) {
    const int l = nearest_int(0.5f * (id * xval[i] - 1));
    L[i] = static_cast<int8_t>(l < 0 ? 0 : (l > kIq2MaxQ - 1 ? kIq2MaxQ - 1 : l));
  }
  const uint32_t u = pack_lattice_levels(L);
  if (lat.lookup(u) >= 0) return true;
  iq2_find_best_neighbour(lat, u, xval, waux, scale, L);
  return false;
}

// IQ2_XS / IQ2_S: trial scales around vmax / 5 for two groups of eight, then one refit of the
// groups the best trial left off the grid. L (16) receives grid levels; returns the scale.
inline float iq2_search_pair_scale(const IqLattice& lat, const float* xval, const float* weight, const float* waux,
                                   float vmax, int8_t* L) {
  int8_t Laux[16];
  bool on_grid[2] = {true, true};
  float best = 0;
  float scale = vmax / (2 * kIq2MaxQ - 1);
  std::memset(L, 0, 16);
  for (int is = -9; is <= 9; ++is) {
    const float id = (2 * kIq2MaxQ - 1 + is * 0.1f) / vmax;
    const float this_scale = 1 / id;
    bool on_grid_aux[2];
    for (int k = 0; k < 2; ++k)
      on_grid_aux[k] = iq2_snap_group(lat, xval + 8 * k, waux + 8 * k, id, this_scale, Laux + 8 * k);
    float sumqx, sumq2;
    lattice_fit(weight, xval, Laux, 16, &sumqx, &sumq2);
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
      iq2_snap_group(lat, xval + 8 * k, waux + 8 * k, id, scale, L + 8 * k);
    }
    float sumqx, sumq2;
    lattice_fit(weight, xval, L, 16, &sumqx, &sumq2);
    if (sumq2 > 0) scale = sumqx / sumq2;
  }
  return scale;
}

}  // namespace quantflow::numeric
