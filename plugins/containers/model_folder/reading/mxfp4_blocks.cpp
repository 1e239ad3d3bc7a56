#include "reading/mxfp4_blocks.hpp"

#include <string>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

namespace quantflow::model_folder {

namespace {

constexpr std::string_view kBlocks = "_blocks";
constexpr std::string_view kScales = "_scales";
constexpr uint32_t kGroup = 32;
constexpr uint32_t kGroupBytes = kGroup / 2;

Status refuse(const std::string& tensor, std::string message) {
  return bad_input(std::move(message)).with_tensor(tensor);
}

}  // namespace

Result<FoldedTensors> fold_mxfp4_blocks(const std::vector<TensorInfo>& stored, const CodecCatalog& catalog) {
  std::unordered_map<std::string, size_t> by_name;
  for (size_t i = 0; i < stored.size(); ++i) by_name.emplace(stored[i].name, i);
  const CodecDescriptor* codec = catalog.find_by_container_id(
      kMlxContainerId, codec_key({.mode = "mxfp4", .bits = 4, .group_size = kGroup}, "u8"));

  FoldedTensors folded;
  for (size_t i = 0; i < stored.size(); ++i) {
    const TensorInfo& t = stored[i];
    const bool is_blocks = t.name.ends_with(kBlocks), is_scales = t.name.ends_with(kScales);
    const std::string base = t.name.substr(0, t.name.size() - (is_blocks || is_scales ? kBlocks.size() : 0));
    if (is_scales) {
      if (!by_name.contains(base + std::string(kBlocks)))
        return refuse(t.name, fmt::format("MXFP4 scales without their codes: '{}_blocks' is missing", base));
      continue;  // folded with its blocks
    }
    if (!is_blocks) {
      TensorSource plain;
      plain.weight = i;
      folded.tensors.push_back(t);
      folded.sources.push_back(plain);
      continue;
    }
    const auto scales = by_name.find(base + std::string(kScales));
    if (scales == by_name.end())
      return refuse(t.name, fmt::format("MXFP4 codes without scales: '{}_scales' is missing", base));
    const TensorInfo& s = stored[scales->second];
    if (t.dtype.name != "u8" || t.shape.size() < 2 || t.shape.back() != kGroupBytes)
      return refuse(t.name, fmt::format("MXFP4 blocks are U8 [..., groups, 16], not {} {}", t.dtype.name,
                                        shape_to_string(t.shape)));
    const Shape expected(t.shape.begin(), t.shape.end() - 1);
    if (s.dtype.name != "u8" || s.shape != expected)
      return refuse(s.name, fmt::format("MXFP4 scales must be U8 {} to match '{}', not {} {}",
                                        shape_to_string(expected), t.name, s.dtype.name, shape_to_string(s.shape)));
    if (codec == nullptr) return refuse(t.name, "no loaded codec holds MLX's mxfp4 blocks (codec mlx_mxfp4)");
    TensorInfo logical;
    logical.name = base;
    logical.dtype = dtype_of(*codec);
    logical.shape = expected;
    logical.shape.back() *= kGroup;
    logical.offset = t.offset;
    TensorSource source;
    source.weight = i;
    source.scales = scales->second;
    source.layout = {.rows = row_count(logical.shape),
                     .groups_per_row = expected.back(),
                     .code_bytes = kGroupBytes,
                     .scale_bytes = 1,
                     .biases = false};
    logical.n_bytes = source.layout.blocks_bytes();
    if (logical.dtype.block_bytes != source.layout.block_bytes() || logical.dtype.block_elems != kGroup)
      return refuse(t.name, fmt::format("the codec {} does not have MLX's mxfp4 block layout", codec->name));
    folded.tensors.push_back(std::move(logical));
    folded.sources.push_back(source);
    ++folded.quantized_modules;
  }
  return folded;
}

}  // namespace quantflow::model_folder
