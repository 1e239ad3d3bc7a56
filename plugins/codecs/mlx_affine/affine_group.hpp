// MLX's CPU affine quantizer for one group (mlx-quant.md §2.1): w ≈ scale * q + bias with q in
// [0, 2^bits - 1], the edge of larger magnitude represented exactly.
#pragma once

#include <cstdint>

namespace quantflow::mlx_affine {

// The float32 scale and bias the codes were rounded with. MLX rounds them to the scale dtype
// only when it stores them, after the codes are fixed.
struct AffineFit {
  float scale;
  float bias;
};

// Fits the n finite values at w and writes their codes to q.
AffineFit fit_group(const float* w, int n, int bits, uint8_t* q);

}  // namespace quantflow::mlx_affine
