// A plugin built for a future ABI: the loader must refuse it after reading one field.
#include "quantflow/plugin.hpp"

namespace {
const QfPluginDescriptor descriptor = {43u, "wrong-abi", "9.9.9", "built for another ABI", nullptr, 0, nullptr, 0};
}
QUANTFLOW_EXPORT_PLUGIN(descriptor)
