// How deeply a JSON value nests, measured without recursion: nlohmann parses and destroys
// without recursing, but dump() recurses once per level, so a hostile config.json nested
// 100000 deep overflows the stack as soon as anything prints it (hf.config, error messages).
// Readers refuse such files right after parsing them.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace quantflow::model_folder {

// Real configs nest a few levels (quantization -> module -> parameter); APR's metadata uses the same limit.
inline constexpr size_t kMaxJsonDepth = 64;

// Whether `value` has objects or arrays nested more than `limit` levels deep (a scalar is level 0).
inline bool nests_deeper_than(const nlohmann::json& value, size_t limit) {
  std::vector<std::pair<const nlohmann::json*, size_t>> pending = {{&value, 0}};
  while (!pending.empty()) {
    const auto [node, depth] = pending.back();
    pending.pop_back();
    if (!node->is_structured()) continue;
    if (depth + 1 > limit) return true;
    for (const auto& child : *node) pending.emplace_back(&child, depth + 1);
  }
  return false;
}

}  // namespace quantflow::model_folder
