// A container may record a model's main encoding in its metadata (GGUF's general.file_type);
// the container declares where and how (QfFileTypeConvention), codecs declare their id under
// "<container>.file_type". The engine connects the two without naming either.
#pragma once

#include <optional>

#include "quantflow/container.hpp"

namespace quantflow::pipeline {

// The container's file-type id of `codec`, or nothing when either side declares none.
std::optional<uint32_t> file_type_id(const ContainerDescriptor& container, const CodecDescriptor& codec);

// Records `file_type` in `metadata` the container's way; false when it records no file type.
bool record_file_type(const ContainerDescriptor& container, Metadata& metadata, uint32_t file_type);

// Records that `codec` is the model's main encoding, when the container and codec allow.
void record_main_encoding(const ContainerDescriptor& container, Metadata& metadata, const CodecDescriptor& codec);

// The file type an input records under the container's key, if any.
std::optional<uint32_t> recorded_file_type(const ContainerDescriptor& container, const Metadata& metadata);

}  // namespace quantflow::pipeline
