// Decodes tensors to f32 a bounded chunk of rows at a time and measures them, so that
// verify and diff never hold more than a few MiB of floats per tensor, whatever its size.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quantflow/codec.hpp"
#include "quantflow/status.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow::pipeline {

// One stored tensor and the codec that can decode it (null when none is loaded).
struct EncodedTensor {
  const TensorInfo* info = nullptr;
  std::span<const std::byte> bytes;
  const CodecDescriptor* codec = nullptr;

  bool decodable() const { return codec != nullptr && codec->decode != nullptr; }
};

// Why a tensor cannot be decoded row by row (wrong byte count, rows not whole blocks), or ok.
Status check_decodable_layout(const EncodedTensor& tensor);

// NaN and infinity in a tensor's decoded values.
struct NonFiniteCount {
  uint64_t count = 0;
  uint64_t first_index = 0;  // element index of the first one, when count > 0
};

Result<NonFiniteCount> count_non_finite(const EncodedTensor& tensor);

// How far `candidate` is from `reference` (same shape). Positions where the reference is
// NaN or infinite are left out of the error: only the candidate's own non-finite values at
// finite reference positions are counted, as failures of the candidate.
struct ErrorStats {
  double rel_rmse = 0;  // rms(candidate - reference) / rms(reference); 0 when both are all zero
  double max_abs = 0;   // largest |candidate - reference|
  NonFiniteCount candidate_non_finite;
  uint64_t reference_non_finite = 0;
};

Result<ErrorStats> compare_decoded(const EncodedTensor& candidate, const EncodedTensor& reference);

}  // namespace quantflow::pipeline
