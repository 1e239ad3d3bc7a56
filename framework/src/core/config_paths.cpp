#include "core/config_paths.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <cstdlib>
#include <filesystem>
#include <string_view>

namespace quantflow::core {

namespace fs = std::filesystem;

std::vector<std::string> config_search_path() {
  std::vector<std::string> roots;
  if (const char* env = std::getenv("QUANTFLOW_CONFIG_PATH")) {
    std::string_view list = env;
    while (!list.empty()) {
      const size_t colon = list.find(':');
      if (colon != 0) roots.emplace_back(list.substr(0, colon));
      if (colon == std::string_view::npos) break;
      list.remove_prefix(colon + 1);
    }
  }
  boost::system::error_code ec;
  const auto exe = boost::dll::program_location(ec);
  bool installed = false;
  if (!ec) {
    const fs::path beside_exe =
        (fs::path(exe.parent_path().string()) / ".." / "share" / "quantflow" / "configs").lexically_normal();
    roots.push_back(beside_exe.string());
    std::error_code exists_ec;
    installed = fs::is_directory(beside_exe, exists_ec);
  }
#ifdef QUANTFLOW_SOURCE_CONFIG_DIR
  // Only a build tree (no share/ beside bin/) reads the source tree it was configured from: an
  // installed or moved quantflow reads its own configs, whatever that source tree now holds.
  if (!installed) roots.emplace_back(QUANTFLOW_SOURCE_CONFIG_DIR);
#endif
  return roots;
}

std::vector<std::string> config_search_path(const std::string& subdir) {
  std::vector<std::string> dirs;
  for (const auto& root : config_search_path()) dirs.push_back((fs::path(root) / subdir).string());
  return dirs;
}

}  // namespace quantflow::core
