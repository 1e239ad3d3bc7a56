// A plan resolves every output tensor to its source and target encoding before any data
// moves, so that sizes are known up front and a dry run can print everything.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "quantflow/container.hpp"
#include "quantflow/transcoder.hpp"

namespace quantflow::pipeline {

struct TensorJob {
  size_t source_index = 0;  // index into the reader's tensors()
  TensorInfo source;
  TensorInfo target;                         // name, dtype, shape and n_bytes as written
  const CodecDescriptor* decoder = nullptr;  // source -> f32; null for a plain copy
  const CodecDescriptor* encoder = nullptr;  // f32 -> target; null for a plain copy
  // A plugin's direct path from the decoder's blocks to the encoder's (no float detour), or
  // null (engine/direct). Decoder and encoder stay set: a tensor whose values the target
  // cannot hold exactly (QF_CODEC_INEXACT) goes through them instead.
  const TranscoderDescriptor* transcoder = nullptr;
  // A row-scaled encoding (QfRowScale) is stored as two tensors, each written by a job.
  enum class Part : uint8_t { whole, row_values, row_scales };
  Part part = Part::whole;
  // Decoding a stored row-scaled pair: the reader index of the scale tensor.
  std::optional<size_t> scale_source_index;
  // Importance weights for the encoder (owned by the caller's ImportanceMatrix), or null.
  const std::vector<float>* importance = nullptr;
  // What decided this job's encoding ("default_type", "rule at line 12", ...), for plans shown to users.
  std::string reason;
  // The encoding the planner wanted before the row length forced it to fall back to the
  // target's; none when the job got what it asked for (engine/fallbacks).
  std::optional<DType> fallback_from;
  bool is_copy() const { return encoder == nullptr; }
  // A row-scaled pair is one source tensor written as two: the values job reads and
  // re-encodes it, the scales job only adds an output.
  bool reencodes_a_source() const { return !is_copy() && part != Part::row_scales; }
  uint64_t source_bytes_read() const { return part == Part::row_scales ? 0 : source.n_bytes; }
};

struct Plan {
  Metadata metadata;
  std::vector<TensorJob> jobs;  // in the order they are declared to the writer
  WriterOptions writer_options;

  std::vector<TensorInfo> target_infos() const {
    std::vector<TensorInfo> out;
    out.reserve(jobs.size());
    for (const auto& j : jobs) out.push_back(j.target);
    return out;
  }
};

// What a plan reads and writes, for summaries: each row-scaled pair counts once.
struct PlanTotals {
  size_t tensors = 0;
  size_t reencoded = 0;
  uint64_t source_bytes = 0;  // tensor data read
  uint64_t target_bytes = 0;  // tensor data written
};
PlanTotals totals_of(const Plan& plan);

// Makes `job` re-encode its source into `codec`. Fails with a message naming the tensor
// when the source cannot be decoded or the row does not fit the target's block size.
Status retarget(TensorJob& job, const CodecDescriptor& codec, const CodecCatalog& catalog);

// A plan that copies every tensor and the metadata of `reader` unchanged.
Plan copy_plan(const Reader& reader);

// Gives every job whose encoding is row-scaled a companion job for its scales (named by the
// codec's suffix), right after it. Idempotent; the host calls it before writing.
void expand_row_scales(Plan& plan);

// Finds stored row-scaled pairs (NAME with a codec's values dtype and NAME+suffix with its
// scale dtype and row shape), so that decoding can join them: the values job gets the
// codec as decoder and the scale tensor's index, and the scale job leaves the plan.
void join_row_scaled_pairs(Plan& plan, const CodecCatalog& catalog, const std::vector<const CodecDescriptor*>& codecs);

}  // namespace quantflow::pipeline
