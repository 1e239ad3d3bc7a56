#include "codec_kit/iq3_scale_search.hpp"

#include <cstdint>
#include <cstring>

namespace quantflow::codec_kit {

float iq3_search_scale(const Iq3Search& s, const float* xval, const float* weight, const float* waux, float max,
                       int n_steps, bool refit_all, int8_t* L) {
  int8_t Laux[32];
  bool on_grid[8], on_grid_aux[8];
  float best = 0.0f;
  float scale = max / static_cast<float>(2 * kIq3MaxQ - 1);
  for (int k = 0; k < 8; ++k) on_grid[k] = !refit_all;
  for (int is = -n_steps; is <= n_steps; ++is) {
    const float id = (static_cast<float>(2 * kIq3MaxQ - 1) + static_cast<float>(is) * 0.2f) / max;
    const float this_scale = 1.0f / id;
    for (int k = 0; k < 8; ++k) {
      const uint16_t u = iq3_levels_at(xval + 4 * k, id, Laux + 4 * k);
      const int g = s.map[u];
      on_grid_aux[k] = g >= 0;
      if (g < 0) iq3_best_neighbour(s, s.neighbours_of(g), xval + 4 * k, waux + 4 * k, this_scale, Laux + 4 * k);
    }
    float sumqx, sumq2;
    lattice_fit(weight, xval, Laux, 32, &sumqx, &sumq2);
    if (sumq2 > 0.0f && sumqx * sumqx > best * sumq2) {
      scale = sumqx / sumq2;
      best = scale * sumqx;
      std::memcpy(L, Laux, 32);
      std::memcpy(on_grid, on_grid_aux, sizeof(on_grid));
    }
  }
  int n_off = 0;
  for (int k = 0; k < 8; ++k) n_off += on_grid[k] ? 0 : 1;
  if (n_off > 0 && scale > 0.0f) {
    const float id = 1.0f / scale;
    for (int k = 0; k < 8; ++k) {
      if (!refit_all && on_grid[k]) continue;
      int8_t tmp[4];
      const uint16_t u = iq3_levels_at(xval + 4 * k, id, tmp);
      int g = s.map[u];
      if (g < 0) g = iq3_best_neighbour(s, s.neighbours_of(g), xval + 4 * k, waux + 4 * k, scale, L + 4 * k);
      for (int i = 0; i < 4; ++i) L[4 * k + i] = static_cast<int8_t>(s.level(g, i));
    }
    float sumqx, sumq2;
    lattice_fit(weight, xval, L, 32, &sumqx, &sumq2);
    if (sumq2 > 0.0f) scale = sumqx / sumq2;
  }
  return scale;
}

int iq3_grid_index(const Iq3Search& s, const int8_t* L) {
  uint16_t u = 0;
  for (int i = 0; i < 4; ++i) u = static_cast<uint16_t>(u | (L[i] << (3 * i)));
  const int g = s.map[u];
  return g < 0 ? 0 : g;  // unreachable: the search only leaves grid points in L
}

}  // namespace quantflow::codec_kit
