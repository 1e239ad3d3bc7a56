// Descriptor sanity beyond what the loader refuses: names a user can type, descriptions for
// `quantflow plugins`, block geometry that sizes buffers correctly, known flags, usable
// container ids. These read the descriptor only; no plugin code runs.
#pragma once

#include <vector>

#include "conformance/codec_checks.hpp"
#include "conformance/conformance.hpp"
#include "core/registry.hpp"

namespace quantflow::conformance {

// The plugin's own name, version and description.
Check check_plugin_descriptor(const core::PluginRecord& plugin);

std::vector<Check> check_container_descriptor(const ContainerDescriptor& container, const NameOwners& others);

}  // namespace quantflow::conformance
