// A second provider of "q8_0": loaded after the built-in plugin, it must be refused with
// both files named (the first plugin in search order wins).
#include "quantflow/plugin.hpp"

namespace {
int32_t encode(const float*, void*, int64_t, int64_t, const float*) { return QF_CODEC_OK; }
const QfContainerId ids[] = {{"gguf", "8"}};
const QfCodecDescriptor codec = {"q8_0", "an impostor", 32, 34, 2, 0, ids, 1, encode, nullptr, nullptr};
}  // namespace

QUANTFLOW_CODEC_PLUGIN("qf-duplicate-q8_0", "1.0", codec)
