// Fallbacks: tensors whose rows are not whole blocks of the encoding a planner wanted for them
// and got another (TensorJob::fallback_from), listed with why and what it costs, for dry runs
// and reports.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/engine/plan.hpp"

namespace quantflow::pipeline {

struct Fallback {
  std::string tensor;  // the output name
  std::string wanted;  // encoding asked for
  std::string used;    // encoding written
  uint64_t row_length = 0;
  uint32_t wanted_block = 0;   // elements per block of `wanted`
  double bits_per_weight = 0;  // used's bits per weight minus wanted's (negative: smaller)
  double extra_bytes = 0;      // that difference over the tensor's elements

  // "row length 320 is not a multiple of q4_k's block of 256"
  std::string why() const;
};

std::vector<Fallback> fallbacks_of(const Plan& plan);

// {tensor, wanted, used, why, bits_per_weight, extra_bytes}
nlohmann::json fallback_json(const Fallback& fallback);
// "blk.0.ffn_down.weight: q4_k -> q5_0 (row length 320 is not a multiple of q4_k's block of 256), +1.00 bpw, +12.5 KiB"
std::string fallback_line(const Fallback& fallback);

}  // namespace quantflow::pipeline
