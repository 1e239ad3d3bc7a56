// The 64-byte APR v2 header (§2): its fields, encoding with the header checksum (§4), and
// the checks a reader makes before trusting any offset in it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "format/format.hpp"
#include "quantflow/status.hpp"

namespace quantflow::apr {

struct Header {
  bool legacy_magic = false;  // "APR2" instead of "APR\0"
  uint8_t version_major = kVersionMajor;
  uint8_t version_minor = kVersionMinor;
  uint16_t flags = 0;
  uint32_t tensor_count = 0;
  uint64_t metadata_offset = kHeaderBytes;
  uint32_t metadata_size = 0;
  uint64_t tensor_index_offset = 0;
  uint64_t data_offset = 0;
  uint32_t checksum = 0;  // as stored (decode) or computed (encode)
};

// CRC32 over header[0..40] ++ header[44..64]: the header without its checksum field.
uint32_t header_checksum(std::span<const std::byte, kHeaderBytes> header);

// The header's bytes, magic "APR\0" (or "APR2" when legacy_magic), checksum computed.
std::array<std::byte, kHeaderBytes> encode_header(const Header& header);

// Reads the fields of a v2 header; the caller has checked the magic. No validation.
Header decode_header(std::span<const std::byte, kHeaderBytes> bytes);

// Version, checksum, layout flags and section bounds (checked arithmetic) against a file of
// `file_size` bytes. One-line messages naming the field.
Status check_header(const Header& header, std::span<const std::byte, kHeaderBytes> bytes, uint64_t file_size);

// "0x9BB8993B", for messages.
std::string hex32(uint32_t value);

}  // namespace quantflow::apr
