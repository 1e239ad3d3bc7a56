// Little-endian fields inside quantized blocks. The block layouts are ggml's on-disk bytes, so
// fields are assembled byte by byte rather than copied in host order.
//
// Each codec declares its block as a struct of these fields and byte arrays, with a
// static_assert on its size (as ggml does). A block may start at any byte of a tensor, so the
// structs hold nothing wider than uint8_t (alignment 1, no padding) and multi-byte fields are
// read and written only through load() and store(), never as host-order integers or floats.
#pragma once

#include <bit>
#include <cstdint>
#include <type_traits>

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

// An IEEE binary16 field (ggml_half).
struct Half {
  uint8_t bytes[2];
};

// An IEEE binary32 field.
struct Float32 {
  uint8_t bytes[4];
};

// A 16-bit integer field.
struct U16 {
  uint8_t bytes[2];
};

// A 32-bit integer field.
struct U32 {
  uint8_t bytes[4];
};

inline float load(const Half& h) { return get_half(h.bytes); }
inline void store(Half& h, float f) { put_half(h.bytes, f); }
inline uint16_t load_bits(const Half& h) { return get_u16(h.bytes); }
inline void store_bits(Half& h, uint16_t bits) { put_u16(h.bytes, bits); }

inline float load(const Float32& f) { return std::bit_cast<float>(get_u32(f.bytes)); }
inline void store(Float32& f, float v) { put_u32(f.bytes, std::bit_cast<uint32_t>(v)); }

inline uint16_t load(const U16& u) { return get_u16(u.bytes); }
inline void store(U16& u, uint16_t v) { put_u16(u.bytes, v); }

inline uint32_t load(const U32& u) { return get_u32(u.bytes); }
inline void store(U32& u, uint32_t v) { put_u32(u.bytes, v); }

// What every block struct must be for the walkers to step through a tensor with it.
template <class Block>
inline constexpr bool kIsBlockLayout = std::is_trivially_copyable_v<Block>&& std::is_standard_layout_v<Block> &&
                                       alignof(Block) == 1;

static_assert(sizeof(Half) == 2 && kIsBlockLayout<Half>);
static_assert(sizeof(Float32) == 4 && kIsBlockLayout<Float32>);
static_assert(sizeof(U16) == 2 && kIsBlockLayout<U16>);
static_assert(sizeof(U32) == 4 && kIsBlockLayout<U32>);

}  // namespace quantflow::codec_kit
