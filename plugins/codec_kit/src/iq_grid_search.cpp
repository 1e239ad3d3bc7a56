#include "codec_kit/iq_grid_search.hpp"

#include <array>
#include <cfloat>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace quantflow::codec_kit {

IqLattice build_iq_lattice(const uint64_t* table, size_t grid_size, const std::array<uint8_t, 3>& level_bytes,
                           int nwant) {
  IqLattice lat;
  lat.points.resize(grid_size);
  lat.map.assign(kIqLatticeMapSize, -1);
  for (size_t k = 0; k < grid_size; ++k) {
    uint64_t pos = 0;
    uint32_t packed = 0;
    for (int i = 0; i < 8; ++i) {
      const uint8_t b = static_cast<uint8_t>((table[k] >> (8 * i)) & 0xFF);
      uint32_t l = 0;
      while (l < 3 && level_bytes[l] != b) ++l;  // tables hold only the three level bytes
      pos |= static_cast<uint64_t>(2 * l + 1) << (8 * i);
      packed |= l << (2 * i);
    }
    lat.points[k] = pos;
    lat.map[packed] = static_cast<int32_t>(k);
  }
  // Squared distances between positions in {1, 3, 5, 7} are at most 8 * 36.
  constexpr int kMaxD2 = 8 * 36;
  std::vector<int> d2(grid_size);
  std::array<int, kMaxD2 + 1> count{};
  for (uint32_t packed = 0; packed < static_cast<uint32_t>(kIqLatticeMapSize); ++packed) {
    if (lat.map[packed] >= 0) continue;
    bool valid = true;
    int pos[8];
    for (int i = 0; i < 8; ++i) {
      const int l = static_cast<int>((packed >> (2 * i)) & 3);
      if (l == 3) valid = false;
      pos[i] = 2 * l + 1;
    }
    if (!valid) continue;  // never looked up by an encoder
    count.fill(0);
    for (size_t j = 0; j < grid_size; ++j) {
      int d = 0;
      for (int i = 0; i < 8; ++i) {
        const int diff = lat.position(static_cast<int>(j), i) - pos[i];
        d += diff * diff;
      }
      d2[j] = d;
      ++count[d];
    }
    const size_t start = lat.neighbours.size();
    lat.map[packed] = -static_cast<int32_t>(start + 1);
    lat.neighbours.push_back(0);
    int have = 0;
    uint16_t n = 0;
    for (int d = 0; d <= kMaxD2 && have < nwant; ++d) {
      if (count[d] == 0) continue;
      ++have;
      for (size_t j = 0; j < grid_size; ++j) {
        if (d2[j] == d) {
          lat.neighbours.push_back(static_cast<uint16_t>(j));
          ++n;
        }
      }
    }
    lat.neighbours[start] = n;
  }
  return lat;
}

int iq2_find_best_neighbour(const IqLattice& lat, uint32_t packed, const float* xval, const float* weight, float scale,
                            int8_t* L) {
  const uint16_t* nb = lat.neighbours_of(packed);
  const int n = nb[0];
  float best_d2 = FLT_MAX;
  int grid_index = -1;
  for (int j = 1; j <= n; ++j) {
    float d2 = 0;
    for (int i = 0; i < 8; ++i) {
      const float q = lat.position(nb[j], i);
      const float diff = scale * q - xval[i];
      d2 += weight[i] * diff * diff;
    }
    if (d2 < best_d2) {
      best_d2 = d2;
      grid_index = nb[j];
    }
  }
  if (grid_index < 0) grid_index = nb[1];  // only reachable with non-finite distances
  for (int i = 0; i < 8; ++i) L[i] = static_cast<int8_t>(lat.level(grid_index, i));
  return grid_index;
}

int iq1_find_best_neighbour(const IqLattice& lat, uint32_t packed, const float* xval, const float* weight, float scale,
                            const float* xg, int8_t* L) {
  const uint16_t* nb = lat.neighbours_of(packed);
  const int n = nb[0];
  float best_score = FLT_MAX;
  int grid_index = -1;
  auto score = [&](int g) {
    float d2 = 0;
    for (int i = 0; i < 8; ++i) {
      const float q = xg[lat.level(g, i)];
      const float w = weight[i];
      const float diff = scale * q - xval[i];
      d2 += w * diff * diff;
    }
    return d2;
  };
  for (int j = 1; j <= n; ++j) {
    const float d2 = score(nb[j]);
    if (d2 < best_score) {
      best_score = d2;
      grid_index = nb[j];
    }
  }
  if (grid_index < 0) {
    const int grid_size = static_cast<int>(lat.points.size());
    for (int g = 0; g < grid_size; ++g) {
      const float d2 = score(g);
      if (d2 < best_score) {
        best_score = d2;
        grid_index = g;
      }
    }
  }
  if (grid_index < 0) grid_index = nb[1];  // only reachable with non-finite distances
  for (int i = 0; i < 8; ++i) L[i] = static_cast<int8_t>(lat.level(grid_index, i));
  return grid_index;
}

}  // namespace quantflow::codec_kit
