// The pieces of ggml's IQ2 scale searches (quantize_row_iq2_xxs/xs/s_impl) that the three types
// share: snapping a group of eight to the 2-bit lattice at a trial scale, and the 16-element
// search IQ2_XS and IQ2_S run unchanged.
#pragma once

#include <cstdint>

#include "codec_kit/iq_grid_search.hpp"
#include "codec_kit/iq_sub_block.hpp"
#include "codec_kit/quant_search.hpp"

namespace quantflow::codec_kit {

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
bool iq2_snap_group(const IqLattice& lat, const float* xval, const float* waux, float id, float scale, int8_t* L);

// IQ2_XS / IQ2_S: trial scales around vmax / 5 for two groups of eight, then one refit of the
// groups the best trial left off the grid. L (16) receives grid levels; returns the scale.
float iq2_search_pair_scale(const IqLattice& lat, const float* xval, const float* weight, const float* waux, float vmax,
                            int8_t* L);

}  // namespace quantflow::codec_kit
