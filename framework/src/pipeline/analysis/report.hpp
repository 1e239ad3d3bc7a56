// What a conversion did, per tensor and in total, for people (a table) and programs (JSON).
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "pipeline/engine/fallbacks.hpp"
#include "pipeline/engine/plan.hpp"
#include "pipeline/engine/transcode.hpp"

namespace quantflow::pipeline {

struct Report {
  struct Tensor {
    std::string name;
    std::string source_type;
    std::string target_type;
    Shape shape;
    uint64_t source_bytes = 0;
    uint64_t target_bytes = 0;
    TensorStats stats;
  };
  std::vector<Tensor> tensors;
  std::vector<Fallback> fallbacks;  // tensors that did not get the encoding wanted for them
  uint64_t source_bytes = 0;
  uint64_t target_bytes = 0;
  double seconds = 0;
};

// `stats` may be empty (no error measurement) or hold one entry per plan job.
Report make_report(const Plan& plan, const std::vector<TensorStats>& stats, double seconds);

nlohmann::json report_to_json(const Report& report);
void print_report(std::ostream& os, const Report& report);

}  // namespace quantflow::pipeline
