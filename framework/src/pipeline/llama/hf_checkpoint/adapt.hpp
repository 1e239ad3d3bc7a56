// Where a Hugging Face checkpoint meets the planners: an input folder whose config.json names
// `architectures`, bound for a GGUF file, is read through a CheckpointReader. `convert` gets
// this through ConvertRequest::adapt_input; `quantize` and `run` call it directly.
#pragma once

#include <memory>
#include <string>

#include "core/registry.hpp"

namespace quantflow::pipeline::hf {

// Whether `output` is the container llama.cpp reads.
bool is_gguf(const ContainerDescriptor& output);

// The CheckpointReader over `reader` when `input` is a checkpoint folder and `output` GGUF;
// otherwise `reader` itself. The first is an engine InputAdapter.
Result<std::unique_ptr<Reader>> adapt_checkpoint(const core::Registry& registry, const std::string& input,
                                                 std::unique_ptr<Reader> reader, const ContainerDescriptor& output);
Result<std::shared_ptr<const Reader>> adapt_shared_checkpoint(const core::Registry& registry, const std::string& input,
                                                              std::shared_ptr<const Reader> reader,
                                                              const ContainerDescriptor& output);

}  // namespace quantflow::pipeline::hf
