// Re-encodes one tensor: decode rows to f32, encode rows to the target, in row chunks
// spread over threads. The result depends only on the tensor, never on the thread count.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "pipeline/plan.hpp"

namespace quantflow::pipeline {

// imatrix: null, or importance weights: one per column (shared by every row), or one
// segment of row_length weights per matrix of a 3-D tensor.
Result<std::vector<std::byte>> transcode(const TensorJob& job, std::span<const std::byte> source,
                                         const std::vector<float>* imatrix);

// Bytes of scratch memory one thread uses while transcoding `job` (for memory planning).
uint64_t transcode_scratch_bytes(const TensorJob& job);

}  // namespace quantflow::pipeline
