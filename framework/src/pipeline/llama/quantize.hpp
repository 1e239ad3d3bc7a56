// `quantize`'s planner: llama-quantize's arguments turned into a Conversion whose bytes equal
// llama-quantize's, per-tensor types chosen by a preset (llama/preset).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "pipeline/engine/conversion.hpp"
#include "pipeline/engine/output_files.hpp"
#include "pipeline/llama/preset.hpp"

namespace quantflow::pipeline {

struct QuantizeRequest {
  std::string input;
  std::string output;
  Preset preset;
  PresetOptions options;
  std::string imatrix_path;                            // as the user typed it: recorded in the metadata
  std::shared_ptr<const ImportanceMatrix> importance;  // loaded from imatrix_path; null: none
  ExecutionSettings settings;
  // --include-weights / --exclude-weights: the importance matrix keeps only the entries whose
  // name contains one of `include_weights`, or drops those containing one of `exclude_weights`.
  std::vector<std::string> include_weights, exclude_weights;
  SplitLimits split;        // none: one output file
  bool keep_split = false;  // --keep-split: the input's shards, tensor for tensor
};

struct QuantizePlan {
  Conversion conversion;
  PresetReport report;
};

Result<QuantizePlan> plan_quantize(const core::Registry& registry, QuantizeRequest request);

// The importance matrix llama-quantize uses given --include-weights / --exclude-weights (at
// most one of them non-empty): null when no entry is left, as if none had been given.
Result<std::shared_ptr<const ImportanceMatrix>> select_importance(std::shared_ptr<const ImportanceMatrix> importance,
                                                                  const std::vector<std::string>& include,
                                                                  const std::vector<std::string>& exclude);

}  // namespace quantflow::pipeline
