// ggml's IQ3_XXS / IQ3_S scale search for one 32-element sub-block of magnitudes: trial scales
// around max / 15 snapped to the 3-bit lattice four elements at a time, then a refit at the
// best scale. The two types differ only in the trial range and in which groups they refit.
#pragma once

#include <cstdint>

#include "codec_kit/iq3_grids.hpp"
#include "codec_kit/iq_sub_block.hpp"
#include "codec_kit/quant_search.hpp"

namespace quantflow::codec_kit {

// Levels per element are 0..7 (positions 1, 3, ..., 15).
inline constexpr int kIq3MaxQ = 8;

// Levels of 4 magnitudes at inverse scale id, packed 3 bits each (the search map's key); also
// stored to L.
inline uint16_t iq3_levels_at(const float* xval, float id, int8_t* L) {
  uint16_t u = 0;
  for (int i = 0; i < 4; ++i) {
    int l = nearest_int(0.5f * (id * xval[i] - 1.0f));
    l = l < 0 ? 0 : (l > kIq3MaxQ - 1 ? kIq3MaxQ - 1 : l);
    L[i] = static_cast<int8_t>(l);
    u = static_cast<uint16_t>(u | (l << (3 * i)));
  }
  return u;
}

// Trial steps run over -n_steps..n_steps. With refit_all (IQ3_S) every group is refitted when
// any is off the grid; otherwise (IQ3_XXS) only the off-grid ones. Returns the scale. L (32)
// receives the best trial's levels; when no trial fits (all weights zero) it keeps what the
// caller left there, which ggml carries over from the previous sub-block.
float iq3_search_scale(const Iq3Search& s, const float* xval, const float* weight, const float* waux, float max,
                       int n_steps, bool refit_all, int8_t* L);

// The grid index of 4 levels that are known to lie on the grid.
int iq3_grid_index(const Iq3Search& s, const int8_t* L);

}  // namespace quantflow::codec_kit
