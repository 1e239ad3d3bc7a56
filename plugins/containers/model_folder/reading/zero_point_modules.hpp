// Folds AutoAWQ (GEMM) and GPTQ linear layers (NAME.qweight, NAME.qzeros, NAME.scales,
// NAME.g_idx; mlx-quant.md §6-7) into one logical tensor NAME.weight [out, in]: zero-point
// blocks (zp_q{bits}_g{group}) where the groups are contiguous, f32 values otherwise.
#pragma once

#include <vector>

#include "quantflow/container.hpp"
#include "quantized_checkpoints/quantized_checkpoints.hpp"
#include "reading/mlx_modules.hpp"

namespace quantflow::model_folder {

// `weights` reads g_idx (whose values decide the layout); everything else is read lazily.
Result<FoldedTensors> fold_zero_point_modules(const Reader& weights, const QuantizationConfig& config,
                                              const CodecCatalog& catalog);

// The parts of `source` as the unpacker takes them (bytes read from `weights`).
Result<QuantizedLinear> read_parts(const Reader& weights, const ZeroPointParts& parts, std::vector<TensorData>& keep);

}  // namespace quantflow::model_folder
