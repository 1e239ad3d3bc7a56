// `quantize`'s planner: llama-quantize's arguments turned into a Conversion whose bytes equal
// llama-quantize's, per-tensor types chosen by a preset (llama/preset).
#pragma once

#include <memory>
#include <string>

#include "core/registry.hpp"
#include "pipeline/engine/conversion.hpp"
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
};

struct QuantizePlan {
  Conversion conversion;
  PresetReport report;
};

Result<QuantizePlan> plan_quantize(const core::Registry& registry, QuantizeRequest request);

}  // namespace quantflow::pipeline
