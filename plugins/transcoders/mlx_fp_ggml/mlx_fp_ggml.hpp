// MLX's floating-point modes <-> ggml's FP4 types (mlx-quant.md §3, "Mapping to GGUF"): the
// same E2M1 codes and scale bytes, re-packed. Each file defines one pair's two directions.
#pragma once

#include "quantflow/transcoder.hpp"

namespace quantflow::mlx_fp_ggml {

// mxfp4.cpp
extern const QfTranscoderDescriptor kMlxMxfp4ToMxfp4;
extern const QfTranscoderDescriptor kMxfp4ToMlxMxfp4;
// nvfp4.cpp
extern const QfTranscoderDescriptor kMlxNvfp4ToNvfp4;
extern const QfTranscoderDescriptor kNvfp4ToMlxNvfp4;

// ggml's E2M1 table has no negative zero: its code 8 decodes as +0, which is MLX's code 0.
inline constexpr uint8_t kGgmlCodeToMlx[16] = {0, 1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15};

}  // namespace quantflow::mlx_fp_ggml
