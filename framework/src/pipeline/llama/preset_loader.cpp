// Finds presets by name, alias or ftype number on the preset search path (preset_parser reads each file).
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fmt/format.h>

#include "core/config_paths.hpp"
#include "pipeline/llama/preset.hpp"

namespace quantflow::pipeline {

namespace {

namespace fs = std::filesystem;

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// The preset files on the search path, earlier directories shadowing later ones by file name.
std::vector<fs::path> preset_files() {
  std::vector<fs::path> files;
  std::vector<std::string> seen;
  for (const auto& dir : preset_search_path()) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> here;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.is_regular_file() && entry.path().extension() == ".yaml") here.push_back(entry.path());
    std::sort(here.begin(), here.end());
    for (const auto& file : here) {
      const std::string stem = upper(file.stem().string());
      if (std::find(seen.begin(), seen.end(), stem) != seen.end()) continue;
      seen.push_back(stem);
      files.push_back(file);
    }
  }
  return files;
}

}  // namespace

std::vector<std::string> preset_search_path() { return core::config_search_path("presets"); }

std::vector<Preset> list_presets() {
  std::vector<Preset> out;
  for (const auto& file : preset_files()) {
    auto preset = load_preset_file(file.string());
    if (preset.ok()) out.push_back(std::move(preset).value());
  }
  std::sort(out.begin(), out.end(), [](const Preset& a, const Preset& b) { return a.name < b.name; });
  return out;
}

Result<Preset> load_preset(const std::string& name_or_path) {
  const fs::path as_path(name_or_path);
  if (as_path.extension() == ".yaml" || as_path.extension() == ".yml" || name_or_path.find('/') != std::string::npos)
    return load_preset_file(name_or_path);

  const std::string wanted = upper(name_or_path);
  const auto files = preset_files();
  // A file named after the preset is the fast path; aliases and ftype numbers need parsing.
  for (const auto& file : files)
    if (upper(file.stem().string()) == wanted) return load_preset_file(file.string());
  for (const auto& file : files) {
    auto preset = load_preset_file(file.string());
    if (!preset.ok()) return preset;
    bool hit = upper(preset->name) == wanted;
    for (const auto& alias : preset->aliases) hit = hit || upper(alias) == wanted;
    // A number selects the ftype; COPY shares ALL_F32's number and recipe presets have none, so
    // neither matches one.
    if (all_digits(name_or_path) && !preset->copy_only && !preset->is_recipe_preset())
      hit = hit || std::to_string(preset->ftype) == name_or_path;
    if (hit) return preset;
  }
  std::string names;
  for (const auto& file : files) names += (names.empty() ? "" : ", ") + upper(file.stem().string());
  std::string dirs;
  for (const auto& d : preset_search_path()) dirs += (dirs.empty() ? "" : ":") + d;
  if (names.empty())
    return usage_error(fmt::format("unknown quantization type '{}': no presets found in {}", name_or_path, dirs));
  return usage_error(fmt::format("unknown quantization type '{}' (available: {})", name_or_path, names));
}

}  // namespace quantflow::pipeline
