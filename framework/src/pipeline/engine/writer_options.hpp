// Writer options as containers declare them (QfWriterOption): what each declared type is
// called and accepts, and the check every command applies before a writer is created.
#pragma once

#include <string_view>

#include "core/registry.hpp"

namespace quantflow::pipeline {

// The declared type's name ("bool", "unsigned", "string", "encoding"; "unknown" otherwise).
const char* option_type_name(uint32_t type);

// Refuses writer options the container does not declare, or values of the wrong type.
Status check_writer_options(const core::Registry& registry, const ContainerDescriptor& container,
                            const WriterOptions& options);

}  // namespace quantflow::pipeline
