// The geometry (no functions) of the codecs the model-folder reader folds tensors into: the
// 54 MLX affine codecs, MLX's three floating modes and the 9 zero-point codecs, named and
// identified as their plugins (plugins/codecs/mlx_affine, mlx_fp, zero_point) declare them, so
// the fuzz build, which loads no plugins, reaches the folding and unpacking code.
#pragma once

#include <vector>

#include "quantflow/codec.hpp"

namespace qf_fuzz {

const std::vector<const QfCodecDescriptor*>& grouped_codecs();

}  // namespace qf_fuzz
