#include "reading/mlx_modules.hpp"

#include <string>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

namespace quantflow::model_folder {

namespace {

constexpr std::string_view kWeight = ".weight";
constexpr std::string_view kScales = ".scales";
constexpr std::string_view kBiases = ".biases";

std::string_view module_of(std::string_view name, std::string_view suffix) {
  return name.ends_with(suffix) ? name.substr(0, name.size() - suffix.size()) : std::string_view();
}

std::string describe(const TensorInfo& t) { return fmt::format("{} {}", t.dtype.name, shape_to_string(t.shape)); }

Status refuse(const std::string& tensor, std::string message) {
  return bad_input(std::move(message)).with_tensor(tensor);
}

// Checks one quantized module's stored parts against its parameters and builds its logical tensor.
Result<TensorInfo> fold_module(const std::string& module, const MlxParams& params, const TensorInfo& weight,
                               const TensorInfo& scales, const TensorInfo* biases, const CodecCatalog& catalog,
                               GroupedLayout& layout) {
  const std::string what = fmt::format("config.json quantizes '{}' as {} {}-bit, groups of {}", module, params.mode,
                                       params.bits, params.group_size);
  if (weight.dtype.name != "u32" || weight.shape.empty())
    return refuse(weight.name, fmt::format("a quantized MLX weight is U32 codes, not {}", describe(weight)));
  if (params.has_biases() && biases == nullptr)
    return refuse(scales.name, fmt::format("{}, which needs '{}.biases'; there is none", what, module));
  if (!params.has_biases() && biases != nullptr)
    return refuse(biases->name, fmt::format("{}, which has no biases, but '{}' exists", what, biases->name));
  const uint64_t packed = weight.shape.back();
  if (params.bits == 0 || packed * 32 % params.bits != 0 || params.group_size == 0)
    return refuse(weight.name,
                  fmt::format("{}: {} does not hold whole {}-bit codes", what, describe(weight), params.bits));
  const uint64_t row = packed * 32 / params.bits;
  if (row % params.group_size != 0)
    return refuse(weight.name, fmt::format("{}: rows of {} codes are not whole groups", what, row));
  Shape expected_scales = weight.shape;
  expected_scales.back() = row / params.group_size;
  if (scales.shape != expected_scales)
    return refuse(scales.name,
                  fmt::format("{}: '{}' {} needs scales {}, but they are {}", what, weight.name,
                              shape_to_string(weight.shape), shape_to_string(expected_scales), describe(scales)));
  if (biases != nullptr && (biases->shape != scales.shape || biases->dtype != scales.dtype))
    return refuse(biases->name,
                  fmt::format("biases must match the scales ({}), not {}", describe(scales), describe(*biases)));
  const std::string key = codec_key(params, scales.dtype.name);
  const CodecDescriptor* codec = catalog.find_by_container_id(kMlxContainerId, key);
  if (codec == nullptr)
    return refuse(weight.name, fmt::format("no loaded codec holds MLX {} {}-bit groups of {} with {} scales",
                                           params.mode, params.bits, params.group_size, scales.dtype.name));
  TensorInfo logical;
  logical.name = weight.name;
  logical.dtype = dtype_of(*codec);
  logical.shape = weight.shape;
  logical.shape.back() = row;
  logical.offset = weight.offset;
  layout = {.rows = row_count(logical.shape),
            .groups_per_row = row / params.group_size,
            .code_bytes = params.group_size * params.bits / 8,
            .scale_bytes = scales.dtype.block_bytes,
            .biases = params.has_biases()};
  logical.n_bytes = layout.blocks_bytes();
  if (logical.dtype.block_elems != params.group_size || logical.dtype.block_bytes != layout.block_bytes() ||
      scales.dtype.block_elems != 1 || weight.n_bytes != layout.weight_bytes())
    return refuse(weight.name, fmt::format("the codec {} does not have the block layout of MLX {}", codec->name, key));
  return logical;
}

}  // namespace

Result<FoldedTensors> fold_mlx_modules(const std::vector<TensorInfo>& stored, const MlxQuantization* quantization,
                                       const CodecCatalog& catalog) {
  std::unordered_map<std::string, size_t> by_name;
  for (size_t i = 0; i < stored.size(); ++i) by_name.emplace(stored[i].name, i);
  auto find = [&](const std::string& name) -> std::optional<size_t> {
    const auto it = by_name.find(name);
    return it == by_name.end() ? std::nullopt : std::optional(it->second);
  };

  // Every part of a module must come with the others: scales and biases name their weight.
  for (const auto& t : stored) {
    if (const auto module = module_of(t.name, kBiases);
        !module.empty() && !find(std::string(module) + std::string(kScales)))
      return refuse(t.name, fmt::format("biases without scales: '{}.scales' is missing", module));
    if (const auto module = module_of(t.name, kScales); !module.empty()) {
      if (!find(std::string(module) + std::string(kWeight)))
        return refuse(t.name, fmt::format("scales without their weight: '{}.weight' is missing", module));
      if (quantization == nullptr)
        return refuse(t.name, "quantized MLX weights, but config.json has no quantization block");
    }
  }
  if (quantization != nullptr)
    for (const auto& [module, params] : quantization->modules)
      if (params && find(module + std::string(kWeight)) && !find(module + std::string(kScales)))
        return refuse(module + std::string(kWeight),
                      fmt::format("config.json quantizes '{}', but the weights have no '{}.scales'", module, module));

  FoldedTensors folded;
  for (size_t i = 0; i < stored.size(); ++i) {
    const TensorInfo& t = stored[i];
    const std::string_view scales_module = module_of(t.name, kScales);
    if (!scales_module.empty() || !module_of(t.name, kBiases).empty()) continue;  // folded into their weight
    const std::string module(module_of(t.name, kWeight));
    const auto scales = module.empty() ? std::nullopt : find(module + std::string(kScales));
    if (!scales) {
      folded.tensors.push_back(t);
      TensorSource plain;
      plain.weight = i;
      folded.sources.push_back(plain);
      continue;
    }
    const std::optional<MlxParams> params = quantization->for_module(module);
    if (!params)
      return refuse(stored[*scales].name, fmt::format("config.json says '{}' is not quantized, but '{}' exists", module,
                                                      stored[*scales].name));
    const auto biases = find(module + std::string(kBiases));
    TensorSource source;
    source.weight = i;
    source.scales = scales;
    source.biases = biases;
    QF_ASSIGN_OR_RETURN(auto logical, fold_module(module, *params, t, stored[*scales],
                                                  biases ? &stored[*biases] : nullptr, catalog, source.layout));
    folded.tensors.push_back(std::move(logical));
    folded.sources.push_back(source);
    ++folded.quantized_modules;
  }
  return folded;
}

}  // namespace quantflow::model_folder
