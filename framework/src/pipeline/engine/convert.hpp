// `convert`'s planner: one input, every tensor copied, eligible matrices re-encoded to one
// encoding (with fallbacks for rows that do not fit it), written to one file or split.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "pipeline/engine/conversion.hpp"
#include "pipeline/engine/input_adapter.hpp"
#include "pipeline/engine/output_files.hpp"
#include "pipeline/engine/type_request.hpp"

namespace quantflow::pipeline {

struct ConvertRequest {
  std::string input;
  std::string output;
  std::string output_format;                           // container name; empty: from the output's extension
  TypeRequest type;                                    // target encoding for eligible tensors; empty: keep every tensor
  std::shared_ptr<const ImportanceMatrix> importance;  // null: none
  // Encodings, in order of preference, for tensors whose rows do not fit `type`'s block; the
  // first whose block fits is used. Empty: refuse such tensors.
  std::vector<std::string> fallback;
  ExecutionSettings settings;
  WriterOptions writer_options;
  // Stands in for inputs that are written differently from how they are read (a Hugging Face
  // checkpoint bound for GGUF); empty: every input is copied as it is.
  InputAdapter adapt_input;
  SplitLimits split;  // none: one output file
};

// Whether a uniform `--type` re-encodes this tensor: matrices (2+ dimensions) of a decodable
// encoding are converted; vectors (norms, biases) keep their encoding unless they are block
// quantized, which only happens when the target is a plain type (dequantization).
bool eligible_for_uniform_type(const TensorInfo& tensor, const CodecDescriptor& target, const CodecCatalog& catalog);

// Retargets every eligible tensor of `plan` to the requested type (a grouped family picks its
// member per tensor); a tensor whose row length does not fit the block goes to the first of
// `fallbacks` whose block fits, else it is an error (a family without fallbacks keeps it).
Status apply_uniform_type(Plan& plan, const TypeRequest& type, const std::vector<const CodecDescriptor*>& fallbacks,
                          const core::Registry& registry);

// Picks the output container from `format` or the path's extension.
Result<const ContainerDescriptor*> output_container(const core::Registry& registry, const std::string& path,
                                                    const std::string& format);

Result<Conversion> plan_convert(const core::Registry& registry, const ConvertRequest& request);

}  // namespace quantflow::pipeline
