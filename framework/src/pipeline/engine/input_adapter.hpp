// Some inputs are written differently from how they are read: a Hugging Face checkpoint bound
// for GGUF takes llama.cpp's tensor names, row layouts, storage types and metadata
// (llama/hf_checkpoint). An InputAdapter recognises such an input for an output container and
// returns a Reader that stands in for it while planning; when that Reader is an AdaptedInput
// the planner also asks it about encodings. The engine knows adapters only through this file,
// so it still names no format.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/registry.hpp"

namespace quantflow::pipeline {

class AdaptedInput : public Reader {
 public:
  // Encodings, in order of preference, for rows that do not fit `requested` when the user
  // chose no fallback (llama.cpp's converter writes such tensors as f16).
  virtual std::vector<std::string> default_fallback(const CodecDescriptor& requested) const = 0;
  // The encoding `tensor` (as this reader presents it) must have whatever uniform type was
  // requested, e.g. norms stay f32; null when the planner decides.
  virtual const CodecDescriptor* fixed_encoding(const TensorInfo& tensor, const CodecDescriptor& requested,
                                                const CodecCatalog& catalog) const = 0;
  // Records `requested` as the model's main encoding in `metadata` in this input's own way;
  // false leaves it to the output container's convention.
  virtual bool record_main_encoding(Metadata& metadata, const CodecDescriptor& requested) const = 0;
};

// Returns `reader` unchanged when `input` needs no adapting for `output`.
using InputAdapter =
    std::function<Result<std::unique_ptr<Reader>>(const core::Registry& registry, const std::string& input,
                                                  std::unique_ptr<Reader> reader, const ContainerDescriptor& output)>;

}  // namespace quantflow::pipeline
