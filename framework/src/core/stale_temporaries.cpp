#include "core/stale_temporaries.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include <fmt/format.h>

namespace quantflow::core {

namespace {

constexpr std::string_view kMarker = ".quantflow-tmp-";
constexpr size_t kRandomDigits = 8;

bool all_of(std::string_view s, bool (*pred)(char)) {
  for (char c : s)
    if (!pred(c)) return false;
  return !s.empty();
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

}  // namespace

std::string temporary_name(const std::string& target_filename, pid_t pid, unsigned random) {
  return fmt::format(".{}{}{}-{:08x}", target_filename, kMarker, pid, random);
}

std::optional<pid_t> temporary_owner(const std::string& filename) {
  if (filename.size() < 2 || filename[0] != '.') return std::nullopt;
  const size_t marker = filename.rfind(kMarker);
  if (marker == std::string::npos || marker < 2) return std::nullopt;  // needs a non-empty NAME
  const std::string_view rest = std::string_view(filename).substr(marker + kMarker.size());
  const size_t dash = rest.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view pid_text = rest.substr(0, dash), random = rest.substr(dash + 1);
  if (pid_text.size() > 9 || !all_of(pid_text, is_digit) || random.size() != kRandomDigits || !all_of(random, is_hex))
    return std::nullopt;
  const long pid = std::strtol(std::string(pid_text).c_str(), nullptr, 10);
  if (pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> removed;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto owner = temporary_owner(it->path().filename().string());
    if (!owner) continue;
    // Only regular files: a directory or link with a matching name is not ours to delete.
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    if (::kill(*owner, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to judge)
    if (::unlink(it->path().c_str()) == 0) removed.push_back(it->path().string());
  }
  return removed;
}

}  // namespace quantflow::core
