#include "pipeline/llama/prune_layers.hpp"

#include <algorithm>
#include <charconv>
#include <regex>

#include <fmt/format.h>

namespace quantflow::pipeline {

Result<std::vector<int>> parse_prune_layers(const std::string& text) {
  std::vector<int> layers;
  size_t begin = 0;
  while (true) {
    const size_t end = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, end - begin);
    int layer = -1;
    const auto [rest, error] = std::from_chars(item.data(), item.data() + item.size(), layer);
    if (item.empty() || error != std::errc() || rest != item.data() + item.size() || layer < 0)
      return usage_error(
          fmt::format("--prune-layers: invalid layer id '{}' (expected L1,L2,... with layer numbers)", item));
    layers.push_back(layer);
    if (end == text.size()) break;
    begin = end + 1;
  }
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  return layers;
}

std::optional<std::string> LayerPruner::rename(const std::string& name) {
  if (pruned_.empty()) return name;
  static const std::regex kBlock(R"(blk\.(\d+)\.)");
  std::smatch match;
  if (!std::regex_search(name, match, kBlock)) return name;
  int block = 0;
  const std::string digits = match[1].str();
  if (std::from_chars(digits.data(), digits.data() + digits.size(), block).ec != std::errc()) return name;
  auto it = mapped_.find(block);
  if (it == mapped_.end()) {
    std::optional<int> renumbered;
    if (std::binary_search(pruned_.begin(), pruned_.end(), block)) {
      renumbered = std::nullopt;
    } else if (block < pruned_.front()) {
      renumbered = block;
      next_ = block + 1;
    } else {
      renumbered = next_++;
    }
    it = mapped_.emplace(block, renumbered).first;
  }
  if (!it->second) return std::nullopt;
  std::string renamed = name;
  renamed.replace(static_cast<size_t>(match.position(1)), static_cast<size_t>(match.length(1)),
                  std::to_string(*it->second));
  return renamed;
}

}  // namespace quantflow::pipeline
