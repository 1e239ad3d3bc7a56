// CRC-32 as APR uses it (IEEE 802.3, zlib's crc32: reflected 0xEDB88320, initial and final
// XOR 0xFFFFFFFF), for the header checksum and the footer.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace quantflow::apr {

// Continues `crc` (0 to start) over `bytes`.
inline uint32_t crc32_update(uint32_t crc, std::span<const std::byte> bytes) {
  return static_cast<uint32_t>(
      crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<z_size_t>(bytes.size())));
}

inline uint32_t crc32_of(std::span<const std::byte> bytes) { return crc32_update(0, bytes); }

}  // namespace quantflow::apr
