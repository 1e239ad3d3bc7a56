// One conversion end to end: open, plan, stream through the executor into a temporary file
// beside the output, and rename it into place only when everything succeeded.
#pragma once

#include <functional>
#include <string>

#include "core/registry.hpp"
#include "pipeline/engine/executor.hpp"
#include "pipeline/llama/imatrix.hpp"
#include "pipeline/engine/plan.hpp"
#include "pipeline/analysis/report.hpp"

namespace quantflow::pipeline {

struct ConvertRequest {
  std::string input;
  std::string output;
  std::string output_format;  // container name; empty: from the output's extension
  std::string type;           // target encoding for eligible tensors; empty: keep every tensor
  std::string imatrix;        // importance matrix file (GGUF or legacy .dat); empty: none
  // Encodings, in order of preference, for tensors whose rows do not fit `type`'s block; the
  // first whose block fits is used. Empty: refuse such tensors.
  std::vector<std::string> fallback;
  int threads = 0;
  uint64_t memory_budget = 0;
  WriterOptions writer_options;
  std::function<void(const Progress&)> on_progress;
  bool measure_error = false;  // decode every re-encoded tensor again and report its error
};

struct ConvertSummary {
  size_t tensors = 0;
  size_t reencoded = 0;
  uint64_t input_bytes = 0;   // tensor data read
  uint64_t output_bytes = 0;  // tensor data written
  double seconds = 0;
  Report report;
};

// Whether a uniform `--type` re-encodes this tensor: matrices (2+ dimensions) of a decodable
// encoding are converted; vectors (norms, biases) keep their encoding unless they are block
// quantized, which only happens when the target is a plain type (dequantization).
bool eligible_for_uniform_type(const TensorInfo& tensor, const CodecDescriptor& target, const CodecCatalog& catalog);

// Retargets every eligible tensor of `plan` to `codec`; a tensor whose row length does not
// fit `codec`'s block goes to the first of `fallbacks` whose block fits, else it is an error.
Status apply_uniform_type(Plan& plan, const CodecDescriptor& codec,
                          const std::vector<const CodecDescriptor*>& fallbacks, const core::Registry& registry);

// Picks the output container from `format` or the path's extension.
Result<const ContainerDescriptor*> output_container(const core::Registry& registry, const std::string& path,
                                                    const std::string& format);

// Streams `plan` (from `reader`) into `output` with the named container, atomically.
Status write_plan(const core::Registry& registry, const Reader& reader, const Plan& plan,
                  const ContainerDescriptor& container, const std::string& output,
                  const std::vector<std::string>& inputs, const ExecuteOptions& options);

// Points each re-encoded job at its importance weights from `imatrix` (may be null; it must
// outlive the plan's execution) and refuses, before any output exists, jobs whose codec
// requires weights that are missing.
Status attach_importance(Plan& plan, const ImportanceMatrix* imatrix);

Result<ConvertSummary> convert(const core::Registry& registry, const ConvertRequest& request);

}  // namespace quantflow::pipeline
