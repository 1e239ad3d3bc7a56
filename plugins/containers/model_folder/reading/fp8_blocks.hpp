// Hugging Face checkpoints stored in FP8 with block scales (`quantization_config.quant_method:
// fp8`, as DeepSeek-V3 and the Qwen3 FP8 releases publish them): NAME.weight holds F8_E4M3 codes
// [rows, cols] and NAME.weight_scale_inv one F32 (or BF16) factor per block of
// weight_block_size [block_rows, block_cols] elements, shape [ceil(rows/block_rows),
// ceil(cols/block_cols)]; the value is code * factor. No codec holds a block that spans rows, so
// each pair is presented as one F32 tensor NAME.weight and dequantized when it is read: tensor
// by tensor, never as a copy of the whole model.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "quantflow/container.hpp"
#include "reading/mlx_modules.hpp"

namespace quantflow::model_folder {

struct Fp8BlockSize {
  uint64_t rows = 128;
  uint64_t cols = 128;
};

// Reads weight_block_size from quantization_config (default 128 x 128).
Result<Fp8BlockSize> fp8_block_size(const nlohmann::json& quantization_config);

Result<FoldedTensors> fold_fp8_blocks(const std::vector<TensorInfo>& stored, Fp8BlockSize block,
                                      const CodecCatalog& catalog);

// codes (the weight's codec) times each element's block factor, as f32 into `out`.
Status dequantize_fp8_blocks(const Fp8BlockScaled& parts, const TensorInfo& weight, std::span<const std::byte> codes,
                             std::span<const std::byte> factors, std::span<float> out);

}  // namespace quantflow::model_folder
