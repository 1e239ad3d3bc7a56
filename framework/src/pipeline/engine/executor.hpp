// Streams a plan from a Reader to a Writer through a oneTBB flow graph:
//   source (tensor order) -> limiter (memory budget) -> transcode (parallel)
//   -> sequencer (restores order) -> writer (serial) -> releases the limiter slot.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "pipeline/engine/plan.hpp"
#include "pipeline/engine/transcode.hpp"

namespace quantflow::pipeline {

struct Progress {
  size_t tensors_done = 0;
  size_t tensors_total = 0;
  uint64_t bytes_done = 0;  // output bytes written
  uint64_t bytes_total = 0;
  // Source bytes read (TensorJob::source_bytes_read): what a rate and an ETA are measured in,
  // since reading is what a long conversion waits on and output sizes vary with the encoding.
  uint64_t input_bytes_done = 0;
  uint64_t input_bytes_total = 0;
  const TensorJob* last = nullptr;  // the tensor just written
};

// Progress before the first tensor of `plan`: the totals, nothing done.
Progress progress_totals(const Plan& plan);

// How many threads and how much memory a conversion may use, and whether it may use
// transcoders: set once from the command line or the recipe, resolved here for the executor
// and for estimates alike.
struct ExecutionSettings {
  int threads = 0;             // 0: all cores
  uint64_t memory_budget = 0;  // bytes of tensor data in flight; 0: default_memory_budget()
  // Quantized -> quantized re-encodings use a plugin's transcoder where one exists
  // (engine/direct); off (--no-direct): always decode to f32 and encode.
  bool direct_transcoding = true;
  int resolved_threads() const;
  uint64_t resolved_memory_budget() const;
};

struct ExecuteOptions {
  ExecutionSettings settings;
  std::function<void(const Progress&)> on_progress;  // called from the writer stage, in order
  // When set, every re-encoded tensor is decoded again and its error measured; entry i
  // describes plan.jobs[i]. Costs one extra decode per tensor.
  std::vector<TensorStats>* stats = nullptr;
  // When set, entry i says how plan.jobs[i] was re-encoded (cheap: nothing is measured).
  std::vector<TranscodeRoute>* routes = nullptr;
};

uint64_t default_memory_budget();

// The bytes one job holds while in flight: source pages, and for a re-encoded tensor its
// output and per-thread scratch.
uint64_t job_working_set(const TensorJob& job, int threads);

// How many tensors may be in flight at once within `budget` (at least 1).
size_t max_tensors_in_flight(const Plan& plan, uint64_t budget, int threads);

// The most tensor data the executor holds at once for `plan` under `settings`.
uint64_t peak_memory_estimate(const Plan& plan, const ExecutionSettings& settings);

// `order` is what Writer::begin returned. The writer's finish() is not called here.
Status execute(const Plan& plan, const std::vector<size_t>& order, const Reader& reader, Writer& writer,
               const ExecuteOptions& options);

}  // namespace quantflow::pipeline
