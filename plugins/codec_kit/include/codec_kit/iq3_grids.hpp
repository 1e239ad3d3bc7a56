// Lattice grids shared by the IQ3_XXS and IQ3_S codecs (quant-blocks.md §0.5, §4.4, §4.5,
// §4.8), plus the search structures ggml builds for them in iq3xs_init_impl: a map from every
// 4-tuple of 3-bit levels to its grid index, and for tuples off the grid, the list of grid
// points at the nearest few distances.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace quantflow::codec_kit {

// ggml-common.h iq3xxs_grid: four magnitudes per entry (byte k = element k), each in
// {4, 12, 20, 28, 36, 44, 52, 62}.
extern const uint32_t iq3xxs_grid[256];

// ggml-common.h iq3s_grid: four magnitudes per entry, each in {1, 3, ..., 15}.
extern const uint32_t iq3s_grid[512];

// ksigns_iq2xs[i]: the 7 explicit sign bits of i plus bit 7 set when i has an odd number of
// ones, so that every group of 8 carries an even number of negative signs.
inline constexpr uint8_t iq3_ksigns(unsigned i) {
  unsigned ones = 0;
  for (unsigned b = i & 127u; b; b &= b - 1) ++ones;
  return static_cast<uint8_t>((i & 127u) | ((ones & 1u) << 7));
}

// One decoded group of eight: the four bytes of grid entries g1 then g2, times db, negated
// where sign bit j is set.
inline void iq3_decode_group(uint32_t g1, uint32_t g2, uint8_t signs, float db, float* y) {
  for (int j = 0; j < 4; ++j) {
    y[j] = db * static_cast<float>((g1 >> (8 * j)) & 0xFF) * ((signs >> j) & 1 ? -1.0f : 1.0f);
    y[j + 4] = db * static_cast<float>((g2 >> (8 * j)) & 0xFF) * ((signs >> (j + 4)) & 1 ? -1.0f : 1.0f);
  }
}

// The search side of an IQ3 grid: levels l in 0..7 stand for the odd values 2l+1.
struct Iq3Search {
  int grid_size = 0;
  // Per grid entry, its four levels packed as 3-bit fields (element k in bits 3k..3k+2).
  std::vector<uint16_t> levels;
  // Per packed 4-tuple (4096): the grid index when on the grid, otherwise -(offset + 1)
  // into `neighbours`, where neighbours[offset] is a count n followed by n grid indices.
  std::vector<int> map;
  std::vector<uint16_t> neighbours;

  // Level (0..7) of element k of grid entry g.
  int level(int g, int k) const { return (levels[static_cast<size_t>(g)] >> (3 * k)) & 7; }
  // Search value 2l+1 of element k of grid entry g.
  int value(int g, int k) const { return 2 * level(g, k) + 1; }
  const uint16_t* neighbours_of(int map_entry) const { return neighbours.data() + static_cast<size_t>(-map_entry - 1); }
};

// The search tables for grid_size 256 (IQ3_XXS) or 512 (IQ3_S), built once on first use;
// safe to call from any thread.
const Iq3Search& iq3_search(int grid_size);

// Among the grid points listed at `nb` (count first), the one minimising
// Σ w[i] * (scale * (2l+1) - x[i])², the first one on ties; writes its levels to L and
// returns its grid index.
int iq3_best_neighbour(const Iq3Search& s, const uint16_t* nb, const float* x, const float* w, float scale, int8_t* L);

}  // namespace quantflow::codec_kit
