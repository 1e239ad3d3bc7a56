// One malformed descriptor per build, chosen by QF_CASE: the loader must refuse each with
// a reason and go on loading the others.
#include <stdexcept>

#include "quantflow/plugin.hpp"

namespace {

[[maybe_unused]] int32_t encode(const float*, void*, int64_t, int64_t, const float*) { return QF_CODEC_OK; }
[[maybe_unused]] int32_t decode(const void*, float*, int64_t, int64_t) { return QF_CODEC_OK; }
[[maybe_unused]] int32_t probe(const unsigned char*, size_t) { return 0; }

[[maybe_unused]] const QfContainerId ids[] = {{"gguf", "240"}};
[[maybe_unused]] const QfContainerId null_ids[] = {{nullptr, "240"}};

#define CODEC(codec_name, elems, bytes, ids_, n_ids, enc, dec)                                                \
  QfCodecDescriptor {                                                                                         \
    .name = codec_name, .description = "malformed", .block_elems = elems, .block_bytes = bytes,               \
    .kind = QF_KIND_QUANTIZED, .container_ids = ids_, .n_container_ids = n_ids, .encode = enc, .decode = dec, \
  }

#if QF_CASE == 1  // the plugin has no name
const QfCodecDescriptor codec = CODEC("qf_ok", 32, 8, ids, 1, encode, decode);
const QfCodecDescriptor* const codecs[] = {&codec};
const QfPluginDescriptor descriptor = {QUANTFLOW_ABI_VERSION, nullptr, "1", "", codecs, 1, nullptr, 0};
#elif QF_CASE == 2   // a codec has no name
const QfCodecDescriptor codec = CODEC(nullptr, 32, 8, ids, 1, encode, decode);
const QfCodecDescriptor* const codecs[] = {&codec};
const QfPluginDescriptor descriptor = {QUANTFLOW_ABI_VERSION, "qf-null-codec-name", "1", "", codecs, 1, nullptr, 0};
#elif QF_CASE == 3   // a huge count over a one-entry table
const QfCodecDescriptor codec = CODEC("qf_ok", 32, 8, ids, 1, encode, decode);
const QfCodecDescriptor* const codecs[] = {&codec};
const QfPluginDescriptor descriptor = {QUANTFLOW_ABI_VERSION, "qf-huge-count", "1", "", codecs,
                                       0xffffffffu,           nullptr,         0};
#elif QF_CASE == 4   // zero counts: provides nothing
const QfPluginDescriptor descriptor = {QUANTFLOW_ABI_VERSION, "qf-empty", "1", "", nullptr, 0, nullptr, 0};
#elif QF_CASE == 5   // block size 0
const QfCodecDescriptor codec = CODEC("qf_zero_block", 0, 8, ids, 1, encode, decode);
const QfCodecDescriptor* const codecs[] = {&codec};
const QfPluginDescriptor descriptor = {QUANTFLOW_ABI_VERSION, "qf-zero-block", "1", "", codecs, 1, nullptr, 0};
#elif QF_CASE == 6   // a codec with neither encode nor decode
const QfCodecDescriptor codec = CODEC("qf_no_functions", 32, 8, ids, 1, nullptr, nullptr);
const QfCodecDescriptor* const codecs[] = {&codec};
const QfPluginDescriptor descriptor = {QUANTFLOW_ABI_VERSION, "qf-no-functions", "1", "", codecs, 1, nullptr, 0};
#elif QF_CASE == 7   // a container without probe
const QfContainerDescriptor container = {"qf_noprobe", "malformed", ".qfn", nullptr, nullptr, nullptr};
const QfContainerDescriptor* const containers[] = {&container};
const QfPluginDescriptor descriptor = {QUANTFLOW_ABI_VERSION, "qf-no-probe", "1", "", nullptr, 0, containers, 1};
#elif QF_CASE == 8   // a null entry in the container id table
const QfCodecDescriptor codec = CODEC("qf_null_id", 32, 8, null_ids, 1, encode, decode);
const QfCodecDescriptor* const codecs[] = {&codec};
const QfPluginDescriptor descriptor = {QUANTFLOW_ABI_VERSION, "qf-null-id", "1", "", codecs, 1, nullptr, 0};
#elif QF_CASE == 9   // the same codec twice in one plugin
const QfCodecDescriptor codec = CODEC("qf_twice", 32, 8, ids, 1, encode, decode);
const QfCodecDescriptor* const codecs[] = {&codec, &codec};
const QfPluginDescriptor descriptor = {QUANTFLOW_ABI_VERSION, "qf-twice", "1", "", codecs, 2, nullptr, 0};
#elif QF_CASE == 10  // a container that can neither read nor write
const QfContainerDescriptor container = {"qf_inert", "malformed", ".qfi", probe, nullptr, nullptr};
const QfContainerDescriptor* const containers[] = {&container};
const QfPluginDescriptor descriptor = {QUANTFLOW_ABI_VERSION, "qf-inert", "1", "", nullptr, 0, containers, 1};
#endif

}  // namespace

#if QF_CASE == 11  // the entry point itself throws
extern "C" QUANTFLOW_PLUGIN_VISIBLE const QfPluginDescriptor* quantflow_plugin_descriptor() {
  throw std::runtime_error("entry exploded");
}
#else
QUANTFLOW_EXPORT_PLUGIN(descriptor)
#endif
