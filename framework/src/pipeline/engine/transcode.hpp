// Re-encodes one tensor: decode rows to f32, encode rows to the target, in row chunks
// spread over threads, or re-pack its blocks with a transcoder where the job has one. The
// result depends only on the tensor, never on the thread count.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "pipeline/engine/plan.hpp"

namespace quantflow::pipeline {

// How a re-encoded tensor reached its target encoding.
enum class TranscodeRoute : uint8_t {
  via_codecs,  // no transcoder for the pair (or a copy): decoded to f32 and encoded
  direct,      // the job's transcoder re-packed the blocks; the decoded values are unchanged
  via_f32,     // the transcoder found values the target cannot hold exactly (QF_CODEC_INEXACT),
               // so the tensor was decoded to f32 and encoded instead
};

// How far a re-encoded tensor is from its source, measured by decoding the result.
struct TensorStats {
  bool measured = false;    // false for copies and encodings without a decoder
  double rel_rmse = 0;      // rms(decoded - source) / rms(source); 0 when the source is all zero
  double max_abs = 0;       // largest |decoded - source|
  uint64_t non_finite = 0;  // decoded values that are NaN or infinite where the source was finite
  TranscodeRoute route = TranscodeRoute::via_codecs;
};

// imatrix: null, or importance weights: one per column (shared by every row), or one
// segment of row_length weights per matrix of a 3-D tensor.
// `scales`: the stored scale tensor when the job decodes a row-scaled pair, else empty.
// A job with a transcoder goes through it, or through its codecs when the transcoder
// reports QF_CODEC_INEXACT; `route`, when given, receives which happened.
Result<std::vector<std::byte>> transcode(const TensorJob& job, std::span<const std::byte> source,
                                         const std::vector<float>* imatrix, TensorStats* stats = nullptr,
                                         std::span<const std::byte> scales = {}, TranscodeRoute* route = nullptr);

// The job's transcoder over the whole tensor, in row chunks spread over threads. Empty when
// the transcoder reported QF_CODEC_INEXACT for any chunk (the lowest failing chunk decides, so
// the outcome does not depend on the thread count); the caller then decodes and encodes.
Result<std::optional<std::vector<std::byte>>> transcode_directly(const TensorJob& job,
                                                                 std::span<const std::byte> source, TensorStats* stats);

// Whether `job` decodes or encodes a whole-tensor encoding (DType::whole_tensor), which is
// transcoded in one piece by transcode_whole_tensor (called by transcode).
bool transcodes_whole_tensor(const TensorJob& job);
Result<std::vector<std::byte>> transcode_whole_tensor(const TensorJob& job, std::span<const std::byte> source,
                                                      const std::vector<float>* imatrix, TensorStats* stats);

// Bytes of scratch memory one thread uses while transcoding `job` (for memory planning).
uint64_t transcode_scratch_bytes(const TensorJob& job);

// How many rows of `row_len` elements one chunk holds: the unit of work spread over threads.
uint64_t rows_per_chunk(uint64_t row_len);

}  // namespace quantflow::pipeline
