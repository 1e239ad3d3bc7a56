#include "shards/shard_names.hpp"

#include <cctype>
#include <filesystem>

#include "shards/shards.hpp"

namespace quantflow::apr {

namespace {

std::string padded_number(uint64_t v, size_t width) {
  std::string s = std::to_string(v);
  return std::string(s.size() < width ? width - s.size() : 0, '0') + s;
}

// "-00001-of-00003": 15 characters before the extension.
constexpr size_t kSuffixChars = 15;

bool is_shard_suffix(const std::string& s) {
  if (s.size() != kSuffixChars || s[0] != '-' || s.substr(6, 4) != "-of-") return false;
  for (size_t i : {1, 2, 3, 4, 5, 10, 11, 12, 13, 14})
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

}  // namespace

bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

std::optional<std::string> format_pattern(const std::string& pattern, uint64_t number, uint64_t count) {
  std::string out;
  int filled = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '}') return std::nullopt;
    if (pattern[i] != '{') {
      out += pattern[i];
      continue;
    }
    const size_t close = pattern.find('}', i);
    if (close == std::string::npos || filled == 2) return std::nullopt;
    const std::string spec = pattern.substr(i + 1, close - i - 1);
    size_t width = 0;
    if (!spec.empty()) {
      // ":0Nd" with N of one or two digits.
      if (spec.size() < 4 || spec.size() > 5 || spec.substr(0, 2) != ":0" || spec.back() != 'd') return std::nullopt;
      for (size_t k = 2; k + 1 < spec.size(); ++k) {
        if (!std::isdigit(static_cast<unsigned char>(spec[k]))) return std::nullopt;
        width = width * 10 + static_cast<size_t>(spec[k] - '0');
      }
    }
    out += padded_number(filled == 0 ? number : count, width);
    ++filled;
    i = close;
  }
  if (filled != 2 || !is_plain_file_name(out)) return std::nullopt;
  return out;
}

std::string pattern_for(const std::string& file_name) {
  const std::filesystem::path p(file_name);
  const std::string stem = p.stem().string(), extension = p.extension().string();
  if (stem.find_first_of("{}") != std::string::npos || extension.find_first_of("{}") != std::string::npos) return {};
  if (stem.size() < kSuffixChars || !is_shard_suffix(stem.substr(stem.size() - kSuffixChars))) return {};
  return stem.substr(0, stem.size() - kSuffixChars) + "-{:05d}-of-{:05d}" + extension;
}

}  // namespace quantflow::apr
