#include "reading/fp8_blocks.hpp"

#include <string>
#include <unordered_map>

#include <fmt/format.h>

namespace quantflow::model_folder {

namespace {

constexpr std::string_view kFactorsSuffix = "_scale_inv";

Status refuse(const std::string& tensor, std::string message) {
  return bad_input(std::move(message)).with_tensor(tensor);
}

uint64_t blocks_over(uint64_t extent, uint64_t block) { return (extent + block - 1) / block; }

}  // namespace

Result<Fp8BlockSize> fp8_block_size(const nlohmann::json& quantization_config) {
  const auto it = quantization_config.find("weight_block_size");
  if (it == quantization_config.end() || it->is_null()) return Fp8BlockSize{};
  const auto positive = [](const nlohmann::json& v) { return v.is_number_unsigned() && v.get<uint64_t>() > 0; };
  if (!it->is_array() || it->size() != 2 || !positive((*it)[0]) || !positive((*it)[1]))
    return bad_input(
        fmt::format("quantization_config: weight_block_size must be two positive integers, not {}", it->dump()));
  return Fp8BlockSize{.rows = (*it)[0].get<uint64_t>(), .cols = (*it)[1].get<uint64_t>()};
}

Result<FoldedTensors> fold_fp8_blocks(const std::vector<TensorInfo>& stored, Fp8BlockSize block,
                                      const CodecCatalog& catalog) {
  std::unordered_map<std::string, size_t> by_name;
  for (size_t i = 0; i < stored.size(); ++i) by_name.emplace(stored[i].name, i);
  const CodecDescriptor* f32 = catalog.find("f32");
  if (f32 == nullptr) return unsupported("no loaded codec is f32, which FP8 checkpoints are read as");

  FoldedTensors folded;
  for (size_t i = 0; i < stored.size(); ++i) {
    const TensorInfo& t = stored[i];
    if (t.name.ends_with(kFactorsSuffix)) {
      const std::string weight = t.name.substr(0, t.name.size() - kFactorsSuffix.size());
      if (!by_name.contains(weight))
        return refuse(t.name, fmt::format("FP8 block factors without their weight: '{}' is missing", weight));
      continue;  // folded with its weight
    }
    TensorSource source;
    source.weight = i;
    const auto factors = by_name.find(t.name + std::string(kFactorsSuffix));
    if (factors == by_name.end()) {
      folded.tensors.push_back(t);
      folded.sources.push_back(source);
      continue;
    }
    const TensorInfo& f = stored[factors->second];
    const CodecDescriptor* codes = catalog.find(t.dtype.name);
    if (t.dtype.name.rfind("f8_", 0) != 0 || codes == nullptr || codes->decode == nullptr || t.shape.size() != 2)
      return refuse(t.name, fmt::format("a weight with block factors must be a 2-D FP8 matrix, not {} {}", t.dtype.name,
                                        shape_to_string(t.shape)));
    const Shape expected = {blocks_over(t.shape[0], block.rows), blocks_over(t.shape[1], block.cols)};
    const CodecDescriptor* factor_codec = catalog.find(f.dtype.name);
    if ((f.dtype.name != "f32" && f.dtype.name != "bf16") || factor_codec == nullptr || f.shape != expected)
      return refuse(f.name, fmt::format("block factors of '{}' {} in blocks of {}x{} must be F32 or BF16 {}, not {} {}",
                                        t.name, shape_to_string(t.shape), block.rows, block.cols,
                                        shape_to_string(expected), f.dtype.name, shape_to_string(f.shape)));
    source.fp8 = Fp8BlockScaled{.scale_inv = factors->second,
                                .codes = codes,
                                .factors = factor_codec,
                                .block_rows = block.rows,
                                .block_cols = block.cols};
    TensorInfo logical = t;
    logical.dtype = dtype_of(*f32);
    logical.n_bytes = element_count(t.shape) * sizeof(float);
    folded.tensors.push_back(std::move(logical));
    folded.sources.push_back(source);
    ++folded.quantized_modules;
  }
  return folded;
}

Status dequantize_fp8_blocks(const Fp8BlockScaled& parts, const TensorInfo& weight, std::span<const std::byte> codes,
                             std::span<const std::byte> factors, std::span<float> out) {
  const auto rows = static_cast<int64_t>(weight.shape[0]), cols = static_cast<int64_t>(weight.shape[1]);
  const auto factor_rows = static_cast<int64_t>(blocks_over(weight.shape[0], parts.block_rows));
  const auto factor_cols = static_cast<int64_t>(blocks_over(weight.shape[1], parts.block_cols));
  std::vector<float> factor(static_cast<size_t>(factor_rows * factor_cols));
  if (parts.factors->decode(factors.data(), factor.data(), factor_rows, factor_cols) != QF_CODEC_OK ||
      parts.codes->decode(codes.data(), out.data(), rows, cols) != QF_CODEC_OK)
    return bad_input("cannot decode the FP8 weight or its block factors").with_tensor(weight.name);
  // One f32 product per element, as the reference dequantization computes it.
  for (int64_t r = 0; r < rows; ++r) {
    const float* row_factors = factor.data() + (r / static_cast<int64_t>(parts.block_rows)) * factor_cols;
    float* row = out.data() + r * cols;
    for (int64_t c = 0; c < cols; ++c) row[c] *= row_factors[c / static_cast<int64_t>(parts.block_cols)];
  }
  return {};
}

}  // namespace quantflow::model_folder
