// Re-encoding through a plugin's transcoder: the source blocks are re-packed into the
// target's in the same row chunks as decode+encode, spread over threads, straight into the
// output buffer (no f32 scratch). The outcome (bytes, INEXACT or an error) is decided by the
// lowest chunk that did not succeed, so it is the same at any thread count.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <atomic>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "core/plugin_guard.hpp"
#include "core/plugin_origin.hpp"
#include "pipeline/engine/error_sums.hpp"
#include "pipeline/engine/transcode.hpp"

namespace quantflow::pipeline {

namespace {

// Not a QfCodecResult: marks a transcoder call that threw.
constexpr int32_t kThrew = -1;

struct ChunkOutcome {
  int32_t code = QF_CODEC_OK;
  std::string thrown;  // what an exception said
};

Status transcoder_failure(const TensorJob& job, const ChunkOutcome& outcome) {
  const TranscoderDescriptor& t = *job.transcoder;
  // BAD_ROW_LENGTH describes the input; anything else breaks the transcoder's contract.
  const bool known = outcome.code == QF_CODEC_BAD_ROW_LENGTH;
  const std::string why = outcome.code == kThrew ? "it threw: " + outcome.thrown : codec_result_message(outcome.code);
  return Status(known ? ErrorCode::bad_input : ErrorCode::internal,
                fmt::format("transcoder {} -> {} failed: {} (plugin {})", t.from, t.to, why, core::plugin_path_of(&t)))
      .with_tensor(job.source.name);
}

// Decodes the source rows and the transcoded rows and adds their differences to `sums`
// (zero for a transcoder that keeps its contract). False when a decoder fails: the tensor is
// then written unmeasured, as the measurement is no part of the conversion.
bool measure_chunk(const TensorJob& job, const std::byte* src, const std::byte* dst, uint64_t n, uint64_t row_len,
                   ErrorSums& sums) {
  std::vector<float> before(n * row_len), after(n * row_len);
  const auto rows = static_cast<int64_t>(n), len = static_cast<int64_t>(row_len);
  if (job.decoder->decode(src, before.data(), rows, len) != QF_CODEC_OK) return false;
  if (job.encoder->decode(dst, after.data(), rows, len) != QF_CODEC_OK) return false;
  sums.add(before.data(), after.data(), before.size());
  return true;
}

}  // namespace

Result<std::optional<std::vector<std::byte>>> transcode_directly(const TensorJob& job,
                                                                 std::span<const std::byte> source,
                                                                 TensorStats* stats) {
  const uint64_t row_len = row_length(job.source.shape);
  const uint64_t rows = row_count(job.source.shape);
  const uint64_t src_row_bytes = job.source.dtype.bytes_for(row_len);
  const uint64_t dst_row_bytes = job.target.dtype.bytes_for(row_len);
  std::vector<std::byte> out(job.target.n_bytes);
  if (rows == 0 || row_len == 0) return std::optional(std::move(out));

  const uint64_t chunk_rows = rows_per_chunk(row_len);
  const uint64_t n_chunks = (rows + chunk_rows - 1) / chunk_rows;
  const bool measure = stats != nullptr && job.decoder->decode != nullptr && job.encoder->decode != nullptr;
  std::vector<ErrorSums> chunk_errors(measure ? n_chunks : 0);
  std::atomic<uint64_t> first_failed{n_chunks};
  std::atomic<bool> unmeasured{false};
  std::mutex failure_mutex;
  ChunkOutcome failure;

  tbb::parallel_for(tbb::blocked_range<uint64_t>(0, n_chunks), [&](const tbb::blocked_range<uint64_t>& range) {
    for (uint64_t chunk = range.begin(); chunk != range.end(); ++chunk) {
      if (chunk > first_failed.load(std::memory_order_relaxed)) return;
      const uint64_t row0 = chunk * chunk_rows;
      const uint64_t n = std::min(chunk_rows, rows - row0);
      const std::byte* src = source.data() + row0 * src_row_bytes;
      std::byte* dst = out.data() + row0 * dst_row_bytes;
      ChunkOutcome outcome;
      try {
        outcome.code = job.transcoder->transcode(src, dst, static_cast<int64_t>(n), static_cast<int64_t>(row_len));
        if (outcome.code == QF_CODEC_OK && measure && !measure_chunk(job, src, dst, n, row_len, chunk_errors[chunk]))
          unmeasured.store(true);
      } catch (...) {
        outcome = {kThrew, core::current_exception_text()};
      }
      if (outcome.code == QF_CODEC_OK) continue;
      std::lock_guard lock(failure_mutex);
      if (chunk < first_failed.load()) {
        first_failed.store(chunk);
        failure = std::move(outcome);
      }
      return;
    }
  });

  if (first_failed.load() != n_chunks) {
    if (failure.code == QF_CODEC_INEXACT) return std::optional<std::vector<std::byte>>();
    return transcoder_failure(job, failure);
  }
  if (measure && !unmeasured.load()) {
    ErrorSums total;
    for (const auto& e : chunk_errors) total.merge(e);
    total.store(*stats);
  }
  return std::optional(std::move(out));
}

}  // namespace quantflow::pipeline
