#include "codec_kit/iq1_scale_search.hpp"

#include <cstdint>

namespace quantflow::codec_kit {

bool iq1_snap_groups(const IqLattice& lat, const float* xb, const float* weight, float scale, const float* const* xx,
                     int n_groups, int8_t* L, int* index) {
  bool all_on_grid = true;
  for (int k = 0; k < n_groups; ++k) {
    const uint32_t u = pack_lattice_levels(L + 8 * k);
    int g = lat.lookup(u);
    if (g < 0) {
      all_on_grid = false;
      g = iq1_find_best_neighbour(lat, u, xb + 8 * k, weight + 8 * k, scale, xx[k], L + 8 * k);
    }
    index[k] = g;
  }
  return all_on_grid;
}

float iq1_refit_scale(const IqLattice& lat, const float* xb, const float* weight, const float* const* xx, int n_groups,
                      const int* index, float scale) {
  float sumqx = 0, sumq2 = 0;
  for (int k = 0; k < n_groups; ++k) {
    for (int j = 0; j < 8; ++j) {
      const float w = weight[8 * k + j];
      const float q = xx[k][lat.level(index[k], j)];
      sumqx += w * q * xb[8 * k + j];
      sumq2 += w * q * q;
    }
  }
  return sumqx > 0 && sumq2 > 0 ? sumqx / sumq2 : scale;
}

}  // namespace quantflow::codec_kit
