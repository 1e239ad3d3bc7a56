#include "codec_kit/iq2_scale_search.hpp"

#include <cstdint>
#include <cstring>

namespace quantflow::codec_kit {

bool iq2_snap_group(const IqLattice& lat, const float* xval, const float* waux, float id, float scale, int8_t* L) {
  for (int i = 0; i < 8; ++i) {
    const int l = nearest_int(0.5f * (id * xval[i] - 1));
    L[i] = static_cast<int8_t>(l < 0 ? 0 : (l > kIq2MaxQ - 1 ? kIq2MaxQ - 1 : l));
  }
  const uint32_t u = pack_lattice_levels(L);
  if (lat.lookup(u) >= 0) return true;
  iq2_find_best_neighbour(lat, u, xval, waux, scale, L);
  return false;
}

float iq2_search_pair_scale(const IqLattice& lat, const float* xval, const float* weight, const float* waux, float vmax,
                            int8_t* L) {
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

}  // namespace quantflow::codec_kit
