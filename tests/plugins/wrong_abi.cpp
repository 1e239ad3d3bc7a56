// A plugin built for a future ABI: the loader must refuse it after reading one field.
#include "quantflow/plugin.hpp"

namespace {
const QfPluginDescriptor descriptor = {
    QUANTFLOW_ABI_VERSION + 41, "wrong-abi", "9.9.9", "built for another ABI", nullptr, 0, nullptr, 0};
}
QUANTFLOW_EXPORT_PLUGIN(descriptor)
