#include "pipeline/engine/transcode.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstring>
#include <exception>
#include <string>
#include <mutex>

#include <fmt/format.h>

#include "core/plugin_guard.hpp"
#include "core/plugin_origin.hpp"
#include "pipeline/engine/error_sums.hpp"

namespace quantflow::pipeline {

namespace {

// Not a QfCodecResult: marks a codec call that threw.
constexpr int32_t kCodecThrew = -1;

// Enough rows per chunk to amortize scheduling, few enough to spread a tensor over threads
// and keep each thread's f32 scratch small.
constexpr uint64_t kChunkFloats = 256 * 1024;

// No NaN or infinity among `n` floats: the exponent bits of every value are checked without
// an early exit, so that the loop vectorises (a finite input is the common case).
bool all_finite(const float* x, uint64_t n) {
  uint32_t non_finite = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    non_finite |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return non_finite == 0;
}

}  // namespace

uint64_t rows_per_chunk(uint64_t row_len) {
  return std::max<uint64_t>(1, kChunkFloats / std::max<uint64_t>(1, row_len));
}

uint64_t transcode_scratch_bytes(const TensorJob& job) {
  // A transcoder writes straight into the output; one that may report INEXACT needs the
  // decode+encode scratch for the fallback.
  if (job.transcoder != nullptr && always_exact(*job.transcoder)) return 0;
  if (transcodes_whole_tensor(job)) return 2 * element_count(job.source.shape) * sizeof(float);
  const uint64_t row_len = row_length(job.source.shape);
  return rows_per_chunk(row_len) * row_len * sizeof(float);
}

Result<std::vector<std::byte>> transcode(const TensorJob& job, std::span<const std::byte> source,
                                         const std::vector<float>* imatrix, TensorStats* stats,
                                         std::span<const std::byte> scales, TranscodeRoute* route) {
  if (job.is_copy()) return std::vector<std::byte>(source.begin(), source.end());
  if (source.size() != job.source.n_bytes)
    return bad_input(fmt::format("holds {} bytes, expected {}", source.size(), job.source.n_bytes))
        .with_tensor(job.source.name);
  if (job.transcoder != nullptr) {
    QF_ASSIGN_OR_RETURN(auto direct, transcode_directly(job, source, stats));
    const TranscodeRoute taken = direct ? TranscodeRoute::direct : TranscodeRoute::via_f32;
    if (route != nullptr) *route = taken;
    if (direct) {
      if (stats != nullptr) stats->route = taken;
      return std::move(*direct);
    }
    // The target cannot hold these values exactly: this tensor goes through f32 after all.
    TensorJob through_f32 = job;
    through_f32.transcoder = nullptr;
    auto bytes = transcode(through_f32, source, imatrix, stats, scales);
    if (stats != nullptr) stats->route = taken;
    return bytes;
  }
  if (route != nullptr) *route = TranscodeRoute::via_codecs;
  if (transcodes_whole_tensor(job)) return transcode_whole_tensor(job, source, imatrix, stats);

  const uint64_t row_len = row_length(job.source.shape);
  const uint64_t rows = row_count(job.source.shape);
  const uint64_t src_row_bytes = job.source.dtype.bytes_for(row_len);
  // Row-scaled codecs read and write each row as its values followed by its scale; the
  // stored pair is joined before decoding and split after encoding.
  const uint64_t src_scale_bytes = job.scale_source_index ? job.decoder->row_scale->scale_bytes_per_row : 0;
  const QfRowScale* out_scale = job.encoder->row_scale;
  const uint64_t enc_values_bytes = dtype_of(*job.encoder).bytes_for(row_len);
  const uint64_t enc_row_bytes = enc_values_bytes + (out_scale ? out_scale->scale_bytes_per_row : 0);
  const uint64_t dst_row_bytes = job.part == TensorJob::Part::row_scales   ? out_scale->scale_bytes_per_row
                                 : job.part == TensorJob::Part::row_values ? enc_values_bytes
                                                                           : enc_row_bytes;
  if (src_scale_bytes > 0 && scales.size() != row_count(job.source.shape) * src_scale_bytes)
    return bad_input(fmt::format("its scale tensor holds {} bytes, expected {}", scales.size(),
                                 row_count(job.source.shape) * src_scale_bytes))
        .with_tensor(job.source.name);
  std::vector<std::byte> out(job.target.n_bytes);
  if (rows == 0 || row_len == 0) return out;

  // With one importance segment per matrix, rows of matrix m use segment m.
  const uint64_t segments = imatrix ? std::max<uint64_t>(1, imatrix->size() / row_len) : 1;
  const uint64_t rows_per_segment = (rows + segments - 1) / segments;
  const uint64_t chunk_rows = rows_per_chunk(row_len);
  const uint64_t n_chunks = (rows + chunk_rows - 1) / chunk_rows;
  // The first failing chunk (lowest index) decides the message, whatever the scheduling.
  std::atomic<uint64_t> first_failed{n_chunks};
  std::mutex failure_mutex;
  int32_t failure_code = QF_CODEC_OK;
  bool failure_in_decode = false, failure_from_codec = false;
  std::string failure_what;
  // Per-chunk sums, added up in chunk order afterwards.
  const bool measure = stats != nullptr && job.encoder->decode != nullptr;
  const bool refuse_non_finite = static_cast<DTypeKind>(job.encoder->kind) == DTypeKind::quantized;
  std::vector<ErrorSums> chunk_errors(measure ? n_chunks : 0);

  tbb::parallel_for(tbb::blocked_range<uint64_t>(0, n_chunks), [&](const tbb::blocked_range<uint64_t>& range) {
    std::vector<float> scratch, roundtrip;
    std::vector<std::byte> joined, encoded;
    for (uint64_t chunk = range.begin(); chunk != range.end(); ++chunk) {
      if (chunk > first_failed.load(std::memory_order_relaxed)) return;
      const uint64_t row0 = chunk * chunk_rows;
      const uint64_t n = std::min(chunk_rows, rows - row0);
      // A codec that throws breaks the plugin contract; the exception stops here, on the
      // pool thread, and becomes this tensor's error instead of tearing down the graph.
      int32_t rc = QF_CODEC_OK;
      bool in_decode = true, from_codec = true;
      std::string what;
      try {
        const std::byte* packed = source.data() + row0 * src_row_bytes;
        // f32 in is already what the encoder takes: encode from the source itself, no copy.
        const bool in_place = job.decoder->name == std::string_view("f32") && src_scale_bytes == 0 &&
                              reinterpret_cast<uintptr_t>(packed) % alignof(float) == 0;
        if (!in_place) scratch.resize(n * row_len);
        if (src_scale_bytes > 0) {
          joined.resize(n * (src_row_bytes + src_scale_bytes));
          for (uint64_t r = 0; r < n; ++r) {
            std::byte* row = joined.data() + r * (src_row_bytes + src_scale_bytes);
            std::memcpy(row, source.data() + (row0 + r) * src_row_bytes, src_row_bytes);
            std::memcpy(row + src_row_bytes, scales.data() + (row0 + r) * src_scale_bytes, src_scale_bytes);
          }
          packed = joined.data();
        }
        const float* values = in_place ? reinterpret_cast<const float*>(packed) : scratch.data();
        if (!in_place)
          rc = job.decoder->decode(packed, scratch.data(), static_cast<int64_t>(n), static_cast<int64_t>(row_len));
        // Encoded rows go straight to the output unless a row-scaled part must be cut out.
        const bool split = job.part != TensorJob::Part::whole;
        if (split) encoded.resize(n * enc_row_bytes);
        std::byte* enc_base = split ? encoded.data() : out.data() + row0 * dst_row_bytes;
        if (rc == QF_CODEC_OK) in_decode = false;
        // ggml leaves block encodings of NaN and infinity undefined; refuse them for every
        // block codec alike rather than write whatever one codec happens to produce.
        if (rc == QF_CODEC_OK && refuse_non_finite && !all_finite(values, n * row_len)) {
          rc = QF_CODEC_NON_FINITE;
          from_codec = false;
        }
        for (uint64_t r = 0; rc == QF_CODEC_OK && r < n;) {
          const uint64_t segment = (row0 + r) / rows_per_segment;
          const uint64_t run = std::min(n - r, (segment + 1) * rows_per_segment - (row0 + r));
          const float* weights = imatrix ? imatrix->data() + segment * row_len : nullptr;
          rc = job.encoder->encode(values + r * row_len, enc_base + r * enc_row_bytes, static_cast<int64_t>(run),
                                   static_cast<int64_t>(row_len), weights);
          r += run;
        }
        if (rc == QF_CODEC_OK && split) {
          const uint64_t offset = job.part == TensorJob::Part::row_values ? 0 : enc_values_bytes;
          for (uint64_t r = 0; r < n; ++r)
            std::memcpy(out.data() + (row0 + r) * dst_row_bytes, encoded.data() + r * enc_row_bytes + offset,
                        dst_row_bytes);
        }
        if (rc == QF_CODEC_OK && measure) {
          roundtrip.resize(n * row_len);
          rc = job.encoder->decode(enc_base, roundtrip.data(), static_cast<int64_t>(n), static_cast<int64_t>(row_len));
          chunk_errors[chunk].add(values, roundtrip.data(), roundtrip.size());
        }
      } catch (...) {
        rc = kCodecThrew;
        what = core::current_exception_text();
      }
      if (rc != QF_CODEC_OK) {
        std::lock_guard lock(failure_mutex);
        if (chunk < first_failed.load()) {
          first_failed.store(chunk);
          failure_code = rc;
          failure_in_decode = in_decode;
          failure_from_codec = from_codec;
          failure_what = std::move(what);
        }
        return;
      }
    }
  });

  if (first_failed.load() != n_chunks) {
    const CodecDescriptor* codec = failure_in_decode ? job.decoder : job.encoder;
    const bool known = failure_code >= QF_CODEC_NEEDS_IMATRIX && failure_code <= QF_CODEC_UNSUPPORTED;
    std::string message =
        fmt::format("{} {} failed: {}", codec->name, failure_in_decode ? "decode" : "encode",
                    failure_code == kCodecThrew ? "it threw: " + failure_what : codec_result_message(failure_code));
    // What the codec itself reported names the plugin file, so a third-party codec's fault
    // is told apart from a bad input.
    if (failure_from_codec) message += " (plugin " + core::plugin_path_of(codec) + ")";
    // Documented results describe the input; an unknown result or an exception is a fault.
    return Status(known ? ErrorCode::bad_input : ErrorCode::internal, std::move(message)).with_tensor(job.source.name);
  }
  if (measure) {
    ErrorSums total;
    for (const auto& e : chunk_errors) total.merge(e);
    total.store(*stats);
  }
  return out;
}

}  // namespace quantflow::pipeline
