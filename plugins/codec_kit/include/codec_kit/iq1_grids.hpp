// Lattice grid of IQ1_S and IQ1_M (quant-blocks.md §0.5, §4.6, §4.7) and the search
// structures their encoders use (iq_grid_search.hpp). The grid numbers are ggml-common.h's
// iq1s_grid: each byte of an entry is an int8 in {-1, 0, +1}, byte j = element j.
#pragma once

#include <array>
#include <cstdint>

#include "codec_kit/iq_grid_search.hpp"

namespace quantflow::codec_kit {

inline constexpr int kIq1sGridSize = 2048;
// The shift added to (IQ1_S) or subtracted from every grid value of a group.
inline constexpr float kIq1sDelta = 0.125f;
inline constexpr float kIq1mDelta = 0.125f;

extern const uint64_t iq1s_grid[2048];

// Byte values of levels 0, 1, 2 (-1, 0, +1) in the IQ1 grid.
inline constexpr std::array<uint8_t, 3> kIq1LevelBytes = {0xff, 0x00, 0x01};

// Search structures shared by IQ1_S and IQ1_M, built once per process on first use.
const IqLattice& iq1s_lattice();

// One decoded group of eight: the grid entry's -1/0/+1 values shifted by delta, times dl.
inline void iq1_decode_group(uint64_t grid, float dl, float delta, float* y) {
  for (int j = 0; j < 8; ++j) {
    const int8_t g = static_cast<int8_t>((grid >> (8 * j)) & 0xFF);
    y[j] = dl * (g + delta);
  }
}

}  // namespace quantflow::codec_kit
