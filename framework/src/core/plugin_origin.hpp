// Which plugin file an address belongs to, so that failures at use can name the plugin.
#pragma once

#include <string>

namespace quantflow::core {

// The path of the shared object holding `address` (a descriptor or function a plugin
// exported), or "the quantflow executable" / "an unknown library" when it is not a plugin.
std::string plugin_path_of(const void* address);

}  // namespace quantflow::core
