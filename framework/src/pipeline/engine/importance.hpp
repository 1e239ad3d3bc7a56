// Importance weights: per tensor, how much each input column matters, which codecs use to
// weight their rounding error. Where they come from (llama.cpp's imatrix files) is the llama/
// subsystem's business; here they are attached to the jobs that use them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pipeline/engine/plan.hpp"

namespace quantflow::pipeline {

struct ImportanceMatrix {
  std::string file;
  bool legacy = false;  // the original `.dat` form rather than GGUF
  std::vector<std::string> datasets;
  uint32_t chunk_count = 0;
  // Tensor name -> weights: row_length values, or row_length * n for a 3-D tensor of n
  // matrices (one segment per matrix, as for MoE experts).
  std::map<std::string, std::vector<float>> weights;

  // The weights for `tensor`, or null when the file has none for it. Fails when the file
  // has an entry of the wrong size for the tensor's shape.
  Result<const std::vector<float>*> for_tensor(const TensorInfo& tensor) const;
};

// Points each re-encoded job at its importance weights from `imatrix` (may be null; it must
// outlive the plan's execution) and refuses, before any output exists, jobs whose codec
// requires weights that are missing.
Status attach_importance(Plan& plan, const ImportanceMatrix* imatrix);

}  // namespace quantflow::pipeline
