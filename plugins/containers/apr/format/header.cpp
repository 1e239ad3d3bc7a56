#include "format/header.hpp"

#include <cstring>

#include "format/crc32.hpp"

namespace quantflow::apr {

namespace {

// Field offsets of §2.
constexpr size_t kVersionAt = 4, kFlagsAt = 6, kCountAt = 8, kMetaOffsetAt = 12, kMetaSizeAt = 20, kIndexAt = 24,
                 kDataAt = 32, kChecksumAt = 40, kReservedAt = 44;

template <typename T>
void put(std::array<std::byte, kHeaderBytes>& out, size_t at, T value) {
  std::memcpy(out.data() + at, &value, sizeof(T));
}

template <typename T>
T get(std::span<const std::byte, kHeaderBytes> in, size_t at) {
  T value;
  std::memcpy(&value, in.data() + at, sizeof(T));
  return value;
}

}  // namespace

std::string hex32(uint32_t value) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) out += digits[(value >> shift) & 0xF];
  return out;
}

uint32_t header_checksum(std::span<const std::byte, kHeaderBytes> header) {
  const uint32_t crc = crc32_update(0, header.first(kChecksumAt));
  return crc32_update(crc, header.subspan(kReservedAt));
}

std::array<std::byte, kHeaderBytes> encode_header(const Header& h) {
  std::array<std::byte, kHeaderBytes> out{};
  std::memcpy(out.data(), h.legacy_magic ? kMagicLegacyV2 : kMagicV2, 4);
  put<uint8_t>(out, kVersionAt, h.version_major);
  put<uint8_t>(out, kVersionAt + 1, h.version_minor);
  put(out, kFlagsAt, h.flags);
  put(out, kCountAt, h.tensor_count);
  put(out, kMetaOffsetAt, h.metadata_offset);
  put(out, kMetaSizeAt, h.metadata_size);
  put(out, kIndexAt, h.tensor_index_offset);
  put(out, kDataAt, h.data_offset);
  put(out, kChecksumAt, header_checksum(out));
  return out;
}

Header decode_header(std::span<const std::byte, kHeaderBytes> in) {
  Header h;
  h.legacy_magic = std::memcmp(in.data(), kMagicLegacyV2, 4) == 0;
  h.version_major = get<uint8_t>(in, kVersionAt);
  h.version_minor = get<uint8_t>(in, kVersionAt + 1);
  h.flags = get<uint16_t>(in, kFlagsAt);
  h.tensor_count = get<uint32_t>(in, kCountAt);
  h.metadata_offset = get<uint64_t>(in, kMetaOffsetAt);
  h.metadata_size = get<uint32_t>(in, kMetaSizeAt);
  h.tensor_index_offset = get<uint64_t>(in, kIndexAt);
  h.data_offset = get<uint64_t>(in, kDataAt);
  h.checksum = get<uint32_t>(in, kChecksumAt);
  return h;
}

Status check_header(const Header& h, std::span<const std::byte, kHeaderBytes> bytes, uint64_t file_size) {
  if (h.version_major != kVersionMajor)
    return bad_input("APR version " + std::to_string(h.version_major) + "." + std::to_string(h.version_minor) +
                     " is not supported; quantflow reads APR v2");
  if (const uint32_t computed = header_checksum(bytes); computed != h.checksum)
    return bad_input("header checksum mismatch: stored " + hex32(h.checksum) + ", computed " + hex32(computed));
  if (h.flags & kLayoutColumnMajor)
    return bad_input(
        "the LAYOUT_COLUMN_MAJOR flag is set: column-major APR files (unconverted imports) must be "
        "rejected; re-export the model row-major");
  if (h.flags & kEncrypted) return bad_input("the ENCRYPTED flag is set: encrypted APR files are not supported");
  if ((h.flags & kLz4Compressed) && (h.flags & kZstdCompressed))
    return bad_input("both LZ4_COMPRESSED and ZSTD_COMPRESSED are set; a file can use one compression at most");

  // The footer takes the last 4 bytes; every section lies before it.
  const uint64_t end = file_size - kFooterBytes;
  const std::string file = " (file " + std::to_string(file_size) + " bytes)";
  if (h.metadata_size > kMaxMetadataBytes)
    return bad_input("metadata_size " + std::to_string(h.metadata_size) + " exceeds the limit of " +
                     std::to_string(kMaxMetadataBytes) + " bytes");
  if (h.metadata_offset < kHeaderBytes)
    return bad_input("metadata_offset " + std::to_string(h.metadata_offset) + " lies inside the 64-byte header");
  if (h.metadata_offset > end || h.metadata_size > end - h.metadata_offset)
    return bad_input("metadata extends past end of file: " + std::to_string(h.metadata_size) + " bytes at offset " +
                     std::to_string(h.metadata_offset) + file);
  if (h.tensor_index_offset < kHeaderBytes)
    return bad_input("tensor_index_offset " + std::to_string(h.tensor_index_offset) +
                     " lies inside the 64-byte header");
  if (h.data_offset > end)
    return bad_input("data_offset " + std::to_string(h.data_offset) + " lies past the end of the data" + file);
  if (h.tensor_index_offset > h.data_offset)
    return bad_input("tensor_index_offset " + std::to_string(h.tensor_index_offset) + " lies after data_offset " +
                     std::to_string(h.data_offset));
  return {};
}

}  // namespace quantflow::apr
