// How the tensors handed to the writer are stored in an MLX folder: a plain tensor as itself,
// a tensor of an MLX codec as NAME.weight (U32 codes), NAME.scales and, in affine mode,
// NAME.biases (mlx-quant.md §1). Shared by the writer, the split index and config.json.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mlx/grouped_layout.hpp"
#include "mlx/quantization.hpp"
#include "quantflow/container.hpp"

namespace quantflow::model_folder {

struct StoredTensor {
  std::string name;
  std::string dtype_id;  // safetensors spelling: "U32", "BF16", ...
  Shape shape;
  uint64_t n_bytes = 0;
};

struct StoredModule {
  std::vector<StoredTensor> parts;  // one for a plain tensor; weight, scales[, biases] for MLX codecs
  std::optional<MlxParams> params;  // set for MLX codecs
  std::string module;               // NAME without ".weight" (MLX codecs only)
  GroupedLayout layout;             // MLX codecs only
};

// Refuses, naming the tensor, encodings an MLX folder cannot hold (other quantized formats).
Result<StoredModule> stored_module(const TensorInfo& tensor, const CodecCatalog& catalog);

}  // namespace quantflow::model_folder
