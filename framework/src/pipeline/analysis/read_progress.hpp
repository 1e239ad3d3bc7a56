// Progress of a command that reads every tensor of a model without writing one (verify, diff).
#pragma once

#include <cstdint>
#include <functional>

#include "quantflow/tensor.hpp"

namespace quantflow::pipeline {

struct ReadProgress {
  size_t tensors_done = 0;
  size_t tensors_total = 0;  // the tensors of the first file, each a step
  uint64_t bytes_done = 0;   // tensor bytes read, from every file
  uint64_t bytes_total = 0;
  const TensorInfo* last = nullptr;  // the first file's tensor just read; null before the first
  uint64_t last_bytes = 0;           // what reading it (and its counterpart) took
};

// Called once with the totals before the first tensor (tensors_done 0), then after each one.
using ReadProgressCallback = std::function<void(const ReadProgress&)>;

}  // namespace quantflow::pipeline
