// A second provider of "q8_0": loaded after the built-in plugin, it must be refused with
// both files named (the first plugin in search order wins).
#include "quantflow/plugin.hpp"

namespace {
int32_t encode(const float*, void*, int64_t, int64_t, const float*) { return QF_CODEC_OK; }
const QfContainerId ids[] = {{"gguf", "8"}};
const QfCodecDescriptor codec = {
    .name = "q8_0",
    .description = "an impostor",
    .block_elems = 32,
    .block_bytes = 34,
    .kind = QF_KIND_QUANTIZED,
    .container_ids = ids,
    .n_container_ids = 1,
    .encode = encode,
};
}  // namespace

QUANTFLOW_CODEC_PLUGIN("qf-duplicate-q8_0", "1.0", codec)
