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
#include <cstddef>
#include <cstdint>
#include <vector>

namespace quantflow::codec_kit {

// Packed tuples with levels <= 2 are below 0xAAAB; ggml sizes its map 43692.
inline constexpr int kIqLatticeMapSize = 43692;

struct IqLattice {
  // Per grid entry, byte i = 2*level_i + 1 (1, 3 or 5), as an int8 lane.
  std::vector<uint64_t> points;
  // Packed tuple -> grid index (>= 0), or -(offset + 1) into `neighbours` when off the grid.
  std::vector<int32_t> map;
  // At each offset: the number of neighbours n, then n grid indices.
  std::vector<uint16_t> neighbours;

  // Levels outside the lattice (which only non-finite arithmetic on absurd inputs produces)
  // read as grid entry 0 instead of past the map: the block is garbage either way, as in ggml,
  // but memory stays safe.
  int32_t lookup(uint32_t packed) const { return packed < map.size() ? map[packed] : 0; }
  // Valid only when lookup(packed) < 0.
  const uint16_t* neighbours_of(uint32_t packed) const { return neighbours.data() + (-map[packed] - 1); }
  int8_t position(int grid_index, int element) const {
    return static_cast<int8_t>((points[static_cast<size_t>(grid_index)] >> (8 * element)) & 0xFF);
  }
  // The level 0..2 of `element` in grid entry `grid_index`.
  int level(int grid_index, int element) const { return (position(grid_index, element) - 1) / 2; }
};

// Builds the lattice for a grid table whose byte values at levels 0, 1, 2 are level_bytes.
IqLattice build_iq_lattice(const uint64_t* table, size_t grid_size, const std::array<uint8_t, 3>& level_bytes,
                           int nwant);

// ggml's iq2_find_best_neighbour: among the neighbours of the off-grid tuple `packed`, the grid
// entry minimising sum weight[i] * (scale * position_i - xval[i])^2 (first one wins ties, the
// positions being 1, 3, 5). Writes its levels to L and returns its index.
int iq2_find_best_neighbour(const IqLattice& lat, uint32_t packed, const float* xval, const float* weight, float scale,
                            int8_t* L);

// ggml's iq1_find_best_neighbour2: as above, but a level l stands for the value xg[l] (the
// shifted -1, 0, +1 of IQ1_S / IQ1_M), and the distance weights are used as given. When no
// neighbour gives a finite distance the whole grid is searched.
int iq1_find_best_neighbour(const IqLattice& lat, uint32_t packed, const float* xval, const float* weight, float scale,
                            const float* xg, int8_t* L);

}  // namespace quantflow::codec_kit
