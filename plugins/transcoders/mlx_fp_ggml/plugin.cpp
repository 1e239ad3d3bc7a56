// The plugin: MLX mxfp4/nvfp4 <-> ggml MXFP4/NVFP4 transcoders. The codecs come from other
// plugins (codecs/mlx_fp, codecs/mxfp4, codecs/nvfp4).
#include <iterator>

#include "mlx_fp_ggml.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace t = quantflow::mlx_fp_ggml;

const QfTranscoderDescriptor* const kTranscoders[] = {&t::kMlxMxfp4ToMxfp4, &t::kMxfp4ToMlxMxfp4, &t::kMlxNvfp4ToNvfp4,
                                                      &t::kNvfp4ToMlxNvfp4};

const QfPluginDescriptor kPlugin = {
    .abi_version = QUANTFLOW_ABI_VERSION,
    .name = "transcoder-mlx_fp_ggml",
    .version = "1.0.0",
    .description = "MLX mxfp4/nvfp4 <-> ggml MXFP4/NVFP4 without a float detour",
    .codecs = nullptr,
    .n_codecs = 0,
    .containers = nullptr,
    .n_containers = 0,
    .transcoders = kTranscoders,
    .n_transcoders = std::size(kTranscoders),
};

}  // namespace

QUANTFLOW_EXPORT_PLUGIN(kPlugin)
