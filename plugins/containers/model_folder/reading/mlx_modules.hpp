// Folds MLX's stored module tensors (NAME.weight codes, NAME.scales, NAME.biases) into one
// logical tensor NAME.weight of the codec that holds MLX's blocks, checking every part against
// config.json (mlx-quant.md §1, §4) so that a folder whose files and config disagree is refused.
#pragma once

#include <optional>
#include <vector>

#include "mlx/grouped_layout.hpp"
#include "mlx/quantization.hpp"
#include "quantflow/container.hpp"

namespace quantflow::model_folder {

// An AutoAWQ or GPTQ linear layer's stored parts (indices of stored tensors).
struct ZeroPointParts {
  size_t qweight = 0;
  std::optional<size_t> qzeros;
  size_t scales = 0;
  std::optional<size_t> g_idx;
};

// An FP8 weight with one factor per 2-D block (reading/fp8_blocks).
struct Fp8BlockScaled {
  size_t scale_inv = 0;                      // index of the stored factors
  const CodecDescriptor* codes = nullptr;    // decodes the weight's FP8 codes
  const CodecDescriptor* factors = nullptr;  // decodes the factors (f32 or bf16)
  uint64_t block_rows = 0, block_cols = 0;
};

// Where a logical tensor's bytes come from in the stored weights.
struct TensorSource {
  size_t weight = 0;  // index of the stored tensor (the codes for a quantized module)
  std::optional<size_t> scales;
  std::optional<size_t> biases;
  GroupedLayout layout;                      // meaningful when `scales` is set
  std::optional<ZeroPointParts> zero_point;  // AWQ/GPTQ: unpacked from these parts instead
  std::optional<Fp8BlockScaled> fp8;         // FP8 with block factors: dequantized to f32 instead
};

struct FoldedTensors {
  std::vector<TensorInfo> tensors;
  std::vector<TensorSource> sources;  // one per tensor
  size_t quantized_modules = 0;
};

// `quantization` is null when config.json has no quantization block.
Result<FoldedTensors> fold_mlx_modules(const std::vector<TensorInfo>& stored, const MlxQuantization* quantization,
                                       const CodecCatalog& catalog);

}  // namespace quantflow::model_folder
