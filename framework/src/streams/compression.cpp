#include "streams/compression.hpp"

#include <array>
#include <charconv>
#include <fstream>
#include <cstring>

#include <fmt/format.h>

namespace quantflow::streams {

std::string OutputCompression::describe() const { return zstd ? fmt::format("zstd:{}", level) : "none"; }

Result<OutputCompression> parse_compression(std::string_view spec) {
  OutputCompression out;
  out.explicitly_set = true;
  if (spec == "none") return out;
  const auto bad = [&] {
    return usage_error(
        fmt::format("unknown compression '{}': use none, zstd or zstd:LEVEL (LEVEL 1 to {})", spec, kMaxZstdLevel));
  };
  if (spec.substr(0, 4) != "zstd") return bad();
  out.zstd = true;
  if (spec.size() == 4) return out;
  if (spec[4] != ':') return bad();
  const std::string_view digits = spec.substr(5);
  int level = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), level);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || level < 1 || level > kMaxZstdLevel)
    return bad();
  out.level = level;
  return out;
}

bool is_zstd(std::span<const std::byte> head) {
  if (head.size() < 4) return false;
  uint32_t magic = 0;
  std::memcpy(&magic, head.data(), 4);
  // A zstd frame, or a skippable frame (0x184D2A50..5F) that may lead one.
  return magic == 0xFD2FB528u || (magic & 0xFFFFFFF0u) == 0x184D2A50u;
}

std::string file_compression(const std::string& path) {
  std::array<std::byte, 4> head{};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  return in.gcount() == 4 && is_zstd(head) ? "zstd" : "";
}

bool has_zstd_suffix(std::string_view path) {
  return path.size() > kZstdSuffix.size() && path.substr(path.size() - kZstdSuffix.size()) == kZstdSuffix;
}

std::string strip_zstd_suffix(std::string_view path) {
  return std::string(has_zstd_suffix(path) ? path.substr(0, path.size() - kZstdSuffix.size()) : path);
}

Result<OutputCompression> output_compression_for(const std::string& path, const OutputCompression& requested) {
  if (requested.explicitly_set) {
    if (!requested.zstd && has_zstd_suffix(path))
      return usage_error("the output name ends in .zst but compression is 'none'; drop one of them").with_file(path);
    return requested;
  }
  OutputCompression out;
  out.zstd = has_zstd_suffix(path);
  return out;
}

}  // namespace quantflow::streams
