// The plugin: MLX affine groups <-> ggml Q4_1 / Q8_0 transcoders. The codecs come from other
// plugins (codecs/mlx_affine, codecs/q4_1, codecs/q8_0).
#include <iterator>

#include "mlx_affine_ggml.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace t = quantflow::mlx_affine_ggml;

const QfTranscoderDescriptor* const kTranscoders[] = {
    &t::kMlxQ4ToQ4_1[0], &t::kMlxQ4ToQ4_1[1], &t::kMlxQ4ToQ4_1[2], &t::kMlxQ4ToQ4_1[3], &t::kMlxQ4ToQ4_1[4],
    &t::kMlxQ4ToQ4_1[5], &t::kQ4_1ToMlxQ4,    &t::kMlxQ8ToQ8_0[0], &t::kMlxQ8ToQ8_0[1], &t::kMlxQ8ToQ8_0[2],
    &t::kMlxQ8ToQ8_0[3], &t::kMlxQ8ToQ8_0[4], &t::kMlxQ8ToQ8_0[5]};

}  // namespace

QUANTFLOW_TRANSCODER_PLUGIN("transcoder-mlx_affine_ggml", "1.0.0",
                            "MLX 4- and 8-bit affine groups <-> ggml Q4_1 / Q8_0 without a float detour", kTranscoders)
