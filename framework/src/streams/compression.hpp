// What compression an output gets and whether an input is compressed: parsed from
// `--compress` / a recipe's `compress:` and from file names and magic bytes.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "quantflow/status.hpp"

namespace quantflow::streams {

struct OutputCompression {
  bool zstd = false;
  int level = 3;                 // zstd's own default; 1 (fastest) .. 19 (smallest)
  bool explicitly_set = false;   // from --compress or a recipe, not inferred from the name
  std::string describe() const;  // "none" or "zstd:LEVEL"
};

inline constexpr std::string_view kZstdSuffix = ".zst";
inline constexpr int kMaxZstdLevel = 19;

// "none", "zstd" or "zstd:LEVEL" (1..19); anything else is a usage error naming the choices.
Result<OutputCompression> parse_compression(std::string_view spec);

// Whether the bytes start with a zstd frame (or a skippable frame) magic number.
bool is_zstd(std::span<const std::byte> head);

// "zstd" when the file at `path` starts with a zstd magic number, else "" (also when unreadable).
std::string file_compression(const std::string& path);

bool has_zstd_suffix(std::string_view path);
// The path without a trailing ".zst" (the name whose extension tells the container).
std::string strip_zstd_suffix(std::string_view path);

// The compression an output at `path` gets: `requested` when set explicitly, else zstd at the
// default level when the name ends in ".zst". A ".zst" name with "none" is a usage error.
Result<OutputCompression> output_compression_for(const std::string& path, const OutputCompression& requested);

}  // namespace quantflow::streams
