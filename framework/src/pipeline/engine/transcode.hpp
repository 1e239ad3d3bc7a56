// Re-encodes one tensor: decode rows to f32, encode rows to the target, in row chunks
// spread over threads. The result depends only on the tensor, never on the thread count.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "pipeline/engine/plan.hpp"

namespace quantflow::pipeline {

// How far a re-encoded tensor is from its source, measured by decoding the result.
struct TensorStats {
  bool measured = false;    // false for copies and encodings without a decoder
  double rel_rmse = 0;      // rms(decoded - source) / rms(source); 0 when the source is all zero
  double max_abs = 0;       // largest |decoded - source|
  uint64_t non_finite = 0;  // decoded values that are NaN or infinite where the source was finite
};

// imatrix: null, or importance weights: one per column (shared by every row), or one
// segment of row_length weights per matrix of a 3-D tensor.
// `scales`: the stored scale tensor when the job decodes a row-scaled pair, else empty.
Result<std::vector<std::byte>> transcode(const TensorJob& job, std::span<const std::byte> source,
                                         const std::vector<float>* imatrix, TensorStats* stats = nullptr,
                                         std::span<const std::byte> scales = {});

// Whether `job` decodes or encodes a whole-tensor encoding (DType::whole_tensor), which is
// transcoded in one piece by transcode_whole_tensor (called by transcode).
bool transcodes_whole_tensor(const TensorJob& job);
Result<std::vector<std::byte>> transcode_whole_tensor(const TensorJob& job, std::span<const std::byte> source,
                                                      const std::vector<float>* imatrix, TensorStats* stats);

// Bytes of scratch memory one thread uses while transcoding `job` (for memory planning).
uint64_t transcode_scratch_bytes(const TensorJob& job);

}  // namespace quantflow::pipeline
