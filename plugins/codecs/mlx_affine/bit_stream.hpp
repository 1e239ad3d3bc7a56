// MLX's packing of affine codes (mlx-quant.md §2.2): one continuous little-endian bit stream
// per row, element e at bits [e*bits, (e+1)*bits), bit 0 the LSB of byte 0. The same rule
// covers every width; MLX's per-pack descriptions (one u32 for 2/4/8 bits, 3 bytes for 3 and
// 6 bits, 5 bytes for 5) are views of it. A group of a multiple of 8 elements fills whole
// bytes, so groups are packed independently.
#pragma once

#include <cstdint>

namespace quantflow::mlx_affine {

// Writes the n codes (each below 2^bits, bits <= 8) of q as n * bits / 8 bytes at out.
inline void pack_codes(const uint8_t* q, int n, int bits, uint8_t* out) {
  uint32_t pending = 0;  // bits not yet written, LSB first
  int n_pending = 0;
  for (int e = 0; e < n; ++e) {
    pending |= static_cast<uint32_t>(q[e]) << n_pending;
    n_pending += bits;
    for (; n_pending >= 8; n_pending -= 8, pending >>= 8) *out++ = static_cast<uint8_t>(pending & 0xFFu);
  }
}

// Reads n codes of `bits` bits from the stream at in.
inline void unpack_codes(const uint8_t* in, int n, int bits, uint8_t* q) {
  const uint32_t mask = (1u << bits) - 1u;
  uint32_t pending = 0;
  int n_pending = 0;
  for (int e = 0; e < n; ++e) {
    if (n_pending < bits) {
      pending |= static_cast<uint32_t>(*in++) << n_pending;
      n_pending += 8;
    }
    q[e] = static_cast<uint8_t>(pending & mask);
    pending >>= bits;
    n_pending -= bits;
  }
}

}  // namespace quantflow::mlx_affine
