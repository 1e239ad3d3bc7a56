// Little-endian fields inside quantized blocks. The block layouts are ggml's on-disk bytes, so
// fields are assembled byte by byte rather than copied in host order.
#pragma once

#include <cstdint>

#include "codec_kit/fp16.hpp"

namespace quantflow::codec_kit {

inline void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v & 0xFF);
  p[1] = static_cast<uint8_t>(v >> 8);
}

inline uint16_t get_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

inline void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

inline uint32_t get_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// An fp16 scale as ggml stores it: rounded to nearest even, then little-endian.
inline void put_half(uint8_t* p, float f) { put_u16(p, fp32_to_fp16(f)); }

inline float get_half(const uint8_t* p) { return fp16_to_fp32(get_u16(p)); }

}  // namespace quantflow::codec_kit
