// Readers and writers created by container plugins, wrapped so that an exception escaping
// plugin code becomes a Status naming the container and its plugin file. Exceptions never
// cross a plugin boundary by contract; these wrappers make a broken plugin fail that way
// instead of unwinding through the flow graph into a message with no context.
#pragma once

#include <memory>
#include <string>

#include "quantflow/container.hpp"

namespace quantflow::core {

std::unique_ptr<Reader> guard_reader(const ContainerDescriptor& container, std::unique_ptr<Reader> reader);
// A writer's failures name `target` (the output), not the input being converted.
std::unique_ptr<Writer> guard_writer(const ContainerDescriptor& container, std::unique_ptr<Writer> writer,
                                     std::string target);

// "container 'NAME' (PLUGIN.so) threw while DOING: what()", for the exception in flight.
Status container_threw(const ContainerDescriptor& container, const char* doing);

// The message of the exception being handled; call only inside a catch block.
std::string current_exception_text();

}  // namespace quantflow::core
