// Hugging Face checkpoints that store MXFP4 weights as NAME_blocks (U8 [..., groups, 16]: two
// E2M1 codes per byte, element 2b in the low nibble of byte b) and NAME_scales (U8 [..., groups],
// E8M0), as gpt-oss does (`quantization_config.quant_method: mxfp4`). That is MLX's mxfp4 layout,
// so each pair is presented as one tensor NAME [..., groups * 32] of the mlx_mxfp4 codec.
#pragma once

#include <vector>

#include "quantflow/container.hpp"
#include "reading/mlx_modules.hpp"

namespace quantflow::model_folder {

Result<FoldedTensors> fold_mxfp4_blocks(const std::vector<TensorInfo>& stored, const CodecCatalog& catalog);

}  // namespace quantflow::model_folder
