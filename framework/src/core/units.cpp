#include "core/units.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace quantflow::core {

Result<uint64_t> parse_size(std::string_view text) {
  std::string s(text);
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return usage_error(fmt::format("'{}' is not a size; use e.g. 512M or 4G", text));
  const double number = std::strtod(s.substr(0, i).c_str(), nullptr);
  std::string suffix;
  for (size_t j = i; j < s.size(); ++j) suffix += static_cast<char>(std::toupper(static_cast<unsigned char>(s[j])));
  double scale = 1;
  const std::string units = "KMGT";
  if (!suffix.empty() && units.find(suffix[0]) != std::string::npos) {
    scale = std::pow(1024.0, static_cast<double>(units.find(suffix[0]) + 1));
    suffix.erase(0, 1);
  }
  if (!(suffix.empty() || suffix == "B" || suffix == "IB"))
    return usage_error(fmt::format("'{}' is not a size; use e.g. 512M or 4G", text));
  const double bytes = number * scale;
  if (!(bytes >= 1) || bytes > 1.8e19) return usage_error(fmt::format("size '{}' is out of range", text));
  return static_cast<uint64_t>(bytes);
}

std::string format_size(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  return fmt::format("{:.2f} {}", v, units[u]);
}

}  // namespace quantflow::core
