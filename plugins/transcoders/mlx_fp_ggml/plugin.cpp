// The plugin: MLX mxfp4/nvfp4 <-> ggml MXFP4/NVFP4 transcoders. The codecs come from other
// plugins (codecs/mlx_fp, codecs/mxfp4, codecs/nvfp4).
#include <iterator>

#include "mlx_fp_ggml.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace t = quantflow::mlx_fp_ggml;

const QfTranscoderDescriptor* const kTranscoders[] = {&t::kMlxMxfp4ToMxfp4, &t::kMxfp4ToMlxMxfp4, &t::kMlxNvfp4ToNvfp4,
                                                      &t::kNvfp4ToMlxNvfp4};

}  // namespace

QUANTFLOW_TRANSCODER_PLUGIN("transcoder-mlx_fp_ggml", "1.0.0",
                            "MLX mxfp4/nvfp4 <-> ggml MXFP4/NVFP4 without a float detour", kTranscoders)
