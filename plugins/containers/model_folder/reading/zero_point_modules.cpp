#include "reading/zero_point_modules.hpp"

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

namespace quantflow::model_folder {

namespace {

constexpr std::array<std::string_view, 4> kParts = {".qweight", ".qzeros", ".scales", ".g_idx"};

Status refuse(const std::string& tensor, std::string message) {
  return bad_input(std::move(message)).with_tensor(tensor);
}

PartView view_of(const TensorInfo& info, std::span<const std::byte> bytes) {
  return PartView{.dtype = info.dtype.name, .shape = info.shape, .bytes = bytes};
}

}  // namespace

Result<QuantizedLinear> read_parts(const Reader& weights, const ZeroPointParts& parts, std::vector<TensorData>& keep) {
  const auto& stored = weights.tensors();
  auto read = [&](size_t index) -> Result<PartView> {
    QF_ASSIGN_OR_RETURN(auto data, weights.read(index));
    keep.push_back(data);
    return view_of(stored[index], data.bytes);
  };
  QuantizedLinear linear;
  QF_ASSIGN_OR_RETURN(linear.qweight, read(parts.qweight));
  QF_ASSIGN_OR_RETURN(linear.scales, read(parts.scales));
  if (parts.qzeros) {
    QF_ASSIGN_OR_RETURN(linear.qzeros, read(*parts.qzeros));
  }
  if (parts.g_idx) {
    QF_ASSIGN_OR_RETURN(linear.g_idx, read(*parts.g_idx));
  }
  return linear;
}

Result<FoldedTensors> fold_zero_point_modules(const Reader& weights, const QuantizationConfig& config,
                                              const CodecCatalog& catalog) {
  const auto& stored = weights.tensors();
  std::unordered_map<std::string, size_t> by_name;
  for (size_t i = 0; i < stored.size(); ++i) by_name.emplace(stored[i].name, i);
  auto find = [&](const std::string& name) -> std::optional<size_t> {
    const auto it = by_name.find(name);
    return it == by_name.end() ? std::nullopt : std::optional(it->second);
  };
  const char* method = config.method == QuantMethod::awq ? "AWQ" : "GPTQ";

  FoldedTensors folded;
  for (size_t i = 0; i < stored.size(); ++i) {
    const TensorInfo& t = stored[i];
    std::string_view suffix;
    for (const auto part : kParts)
      if (std::string_view(t.name).ends_with(part)) suffix = part;
    if (suffix.empty()) {
      TensorSource plain;
      plain.weight = i;
      folded.tensors.push_back(t);
      folded.sources.push_back(plain);
      continue;
    }
    const std::string module = t.name.substr(0, t.name.size() - suffix.size());
    const auto qweight = find(module + ".qweight");
    if (!qweight)
      return refuse(t.name, fmt::format("{} layer part without its codes: '{}.qweight' is missing", method, module));
    if (suffix != ".qweight") continue;  // folded with its qweight
    const auto scales = find(module + ".scales");
    if (!scales) return refuse(t.name, fmt::format("{} codes without scales: '{}.scales' is missing", method, module));
    if (find(module + ".weight"))
      return refuse(module + ".weight", fmt::format("both '{}.weight' and '{}.qweight' exist", module, module));
    ZeroPointParts parts{
        .qweight = i, .qzeros = find(module + ".qzeros"), .scales = *scales, .g_idx = find(module + ".g_idx")};
    std::vector<TensorData> keep;
    QuantizedLinear views;
    views.qweight = view_of(stored[parts.qweight], {});
    views.scales = view_of(stored[parts.scales], {});
    if (parts.qzeros) views.qzeros = view_of(stored[*parts.qzeros], {});
    if (parts.g_idx) {
      auto g_idx = weights.read(*parts.g_idx);
      if (!g_idx.ok()) return g_idx.take_status().with_tensor(stored[*parts.g_idx].name);
      keep.push_back(*g_idx);
      views.g_idx = view_of(stored[*parts.g_idx], g_idx->bytes);
    }
    auto layout = unpacked_layout(config, views);
    if (!layout.ok()) return layout.take_status().with_tensor(t.name);
    TensorInfo logical;
    logical.name = module + ".weight";
    logical.dtype = layout->dtype;
    if (const CodecDescriptor* codec = catalog.find(logical.dtype.name)) {
      if (!(dtype_of(*codec) == logical.dtype))
        return refuse(t.name,
                      fmt::format("the loaded codec {} does not have the zero-point block layout", codec->name));
      logical.dtype = dtype_of(*codec);
    } else if (logical.dtype.name != "f32") {
      return refuse(t.name,
                    fmt::format("no loaded codec {} (is the zero_point codec plugin installed?)", logical.dtype.name));
    }
    logical.shape = layout->shape;
    logical.n_bytes = layout->n_bytes;
    logical.offset = t.offset;
    TensorSource source;
    source.weight = i;
    source.zero_point = parts;
    folded.tensors.push_back(std::move(logical));
    folded.sources.push_back(source);
    ++folded.quantized_modules;
  }
  return folded;
}

}  // namespace quantflow::model_folder
