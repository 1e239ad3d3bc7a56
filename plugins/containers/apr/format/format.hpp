// The fixed facts of the APR v2 layout (docs: /work/shared/docs/formats/apr.md §1-§3): magic
// numbers, header size, alignment, limits and the header flag bits with their names.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace quantflow::apr {

static_assert(std::endian::native == std::endian::little, "the APR plugin assumes a little-endian host");

inline constexpr const char* kContainerName = "apr";
inline constexpr std::string_view kCodecContainer = "apr";  // the container of codecs' ids

inline constexpr unsigned char kMagicV2[4] = {'A', 'P', 'R', 0};
inline constexpr unsigned char kMagicLegacyV2[4] = {'A', 'P', 'R', '2'};  // read, never written
inline constexpr unsigned char kMagicV1[4] = {'A', 'P', 'R', 'N'};        // recognised and refused

inline constexpr uint8_t kVersionMajor = 2;
inline constexpr uint8_t kVersionMinor = 0;

inline constexpr uint64_t kHeaderBytes = 64;
inline constexpr uint64_t kFooterBytes = 4;
inline constexpr uint64_t kAlignment = 64;
inline constexpr uint64_t kMaxMetadataBytes = 16ull << 20;  // MAX_METADATA_SIZE
inline constexpr size_t kMaxNameBytes = 256;                // MAX_TENSOR_NAME_LEN
inline constexpr size_t kMaxDims = 8;

// Header flag bits (§3).
enum Flag : uint16_t {
  kLz4Compressed = 1u << 0,
  kZstdCompressed = 1u << 1,
  kEncrypted = 1u << 2,
  kSigned = 1u << 3,
  kSharded = 1u << 4,
  kQuantized = 1u << 5,
  kHasFilterbank = 1u << 6,
  kHasModelCard = 1u << 7,
  kStreaming = 1u << 8,
  kHasVocab = 1u << 9,
  kLayoutRowMajor = 1u << 10,
  kLayoutColumnMajor = 1u << 11,
};

// "LAYOUT_ROW_MAJOR|QUANTIZED", bit order; unknown bits as "bit12"; "none" for 0.
std::string flag_names(uint16_t flags);

inline constexpr uint64_t padded(uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace quantflow::apr
