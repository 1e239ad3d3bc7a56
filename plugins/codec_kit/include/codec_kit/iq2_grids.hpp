// Lattice grids of IQ2_XXS, IQ2_XS and IQ2_S (quant-blocks.md §0.5, §4.1-§4.3), the sign
// tables they share, and the search structures their encoders use (iq_grid_search.hpp).
// The grid numbers are ggml-common.h's iq2xxs_grid, iq2xs_grid and iq2s_grid: each byte of an
// entry is a magnitude in {0x08, 0x19, 0x2b}, byte j = element j.
#pragma once

#include <array>
#include <cstdint>

#include "codec_kit/iq_grid_search.hpp"

namespace quantflow::codec_kit {

inline constexpr uint8_t kmask_iq2xs[8] = {1, 2, 4, 8, 16, 32, 64, 128};

// One decoded group: byte j of the grid entry times db, negated where sign bit j is set.
inline void iq2_decode_group(uint64_t grid, uint8_t signs, float db, float* y) {
  for (int j = 0; j < 8; ++j) {
    const float g = static_cast<float>((grid >> (8 * j)) & 0xFF);
    y[j] = db * g * (signs & kmask_iq2xs[j] ? -1.f : 1.f);
  }
}

// ksigns_iq2xs[i] = i with bit 7 set when popcount(i) is odd: the eighth sign keeps the
// number of negative signs in a group of eight even.
inline constexpr std::array<uint8_t, 128> ksigns_iq2xs = [] {
  std::array<uint8_t, 128> t{};
  for (int i = 0; i < 128; ++i) {
    int bits = 0;
    for (int b = 0; b < 7; ++b) bits += (i >> b) & 1;
    t[i] = static_cast<uint8_t>(i | ((bits & 1) ? 0x80 : 0));
  }
  return t;
}();

extern const uint64_t iq2xxs_grid[256];

extern const uint64_t iq2xs_grid[512];

extern const uint64_t iq2s_grid[1024];

// Byte values of levels 0, 1, 2 in the IQ2 grids.
inline constexpr std::array<uint8_t, 3> kIq2LevelBytes = {0x08, 0x19, 0x2b};

// Search structures, built once per process on first use (thread-safe).
const IqLattice& iq2xxs_lattice();

const IqLattice& iq2xs_lattice();

const IqLattice& iq2s_lattice();

}  // namespace quantflow::codec_kit
