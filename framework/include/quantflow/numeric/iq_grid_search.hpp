// Search structures over the 8-element lattice grids of IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S and
// IQ1_M (quant-blocks.md §4.8), equivalent to what ggml's iq2xs_init_impl builds:
//  - every grid entry as eight lattice positions 2*l+1 (l = 0, 1, 2 per element),
//  - a map from an 8-tuple of levels, packed two bits per element (element i in bits 2i..2i+1),
//    to its grid index,
//  - for every tuple that is not on the grid, the grid entries whose squared distance to it is
//    among the `nwant` smallest distinct distances, ordered by (distance, grid index).
// The encoders only ever look up tuples whose levels are all in 0..2, so only those get
// neighbour lists.
#pragma once

#include <array>
#include <cfloat>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace quantflow::numeric {

// Packed tuples with levels <= 2 are below 0xAAAB; ggml sizes its map 43692.
inline constexpr int kIqLatticeMapSize = 43692;

struct IqLattice {
  // Per grid entry, byte i = 2*level_i + 1 (1, 3 or 5), as an int8 lane.
  std::vector<uint64_t> points;
  // Packed tuple -> grid index (>= 0), or -(offset + 1) into `neighbours` when off the grid.
  std::vector<int32_t> map;
  // At each offset: the number of neighbours n, then n grid indices.
  std::vector<uint16_t> neighbours;

  int32_t lookup(uint32_t packed) const { return map[packed]; }
  // Valid only when lookup(packed) < 0.
  const uint16_t* neighbours_of(uint32_t packed) const { return neighbours.data() + (-map[packed] - 1); }
  int8_t position(int grid_index, int element) const {
    return static_cast<int8_t>((points[static_cast<size_t>(grid_index)] >> (8 * element)) & 0xFF);
  }
  // The level 0..2 of `element` in grid entry `grid_index`.
  int level(int grid_index, int element) const { return (position(grid_index, element) - 1) / 2; }
};

// Builds the lattice for a grid table whose byte values at levels 0, 1, 2 are level_bytes.
inline IqLattice build_iq_lattice(const uint64_t* table, size_t grid_size, const std::array<uint8_t, 3>& level_bytes,
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

// ggml's iq2_find_best_neighbour: among the neighbours of the off-grid tuple `packed`, the grid
// entry minimising sum weight[i] * (scale * position_i - xval[i])^2 (first one wins ties, the
// positions being 1, 3, 5). Writes its levels to L and returns its index.
inline int iq2_find_best_neighbour(const IqLattice& lat, uint32_t packed, const float* xval, const float* weight,
                                   float scale, int8_t* L) {
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

// ggml's iq1_find_best_neighbour2: as above, but a level l stands for the value xg[l] (the
// shifted -1, 0, +1 of IQ1_S / IQ1_M), and the distance weights are used as given. When no
// neighbour gives a finite distance the whole grid is searched.
inline int iq1_find_best_neighbour(const IqLattice& lat, uint32_t packed, const float* xval, const float* weight,
                                   float scale, const float* xg, int8_t* L) {
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

}  // namespace quantflow::numeric
