// Sanity checks on a plugin's codec, container and transcoder descriptors before the registry indexes them.
#pragma once

#include <cstdint>

#include "quantflow/container.hpp"
#include "quantflow/plugin.hpp"
#include "quantflow/status.hpp"

namespace quantflow::core {

// Counts larger than this are not a plugin's real tables but garbage (or a negative number
// stored unsigned); refusing them keeps the loader from walking off the end of an array.
constexpr uint32_t kMaxEntries = 1024;

// A codec descriptor that is safe to index: named, with a plausible block and complete tables.
Status validate_codec(const CodecDescriptor* c);
// A container descriptor that can at least probe and either read or write.
Status validate_container(const ContainerDescriptor* c);
// A transcoder descriptor naming two different codecs, with a function and only known flags.
// Its codecs need not be loaded (they may come from another plugin, or from none).
Status validate_transcoder(const TranscoderDescriptor* t);

}  // namespace quantflow::core
