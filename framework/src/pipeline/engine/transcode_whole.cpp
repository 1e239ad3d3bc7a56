// Transcoding where one side is a whole-tensor encoding (DType::whole_tensor: blocks that
// cross rows, a tensor-wide scale): the tensor is decoded and encoded in one piece, each side
// with its own geometry (encoding_rows), on the calling thread. Such encodings are rare and
// their tensors are whole units by definition, so there is nothing to spread over threads.
#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "core/plugin_guard.hpp"
#include "core/plugin_origin.hpp"
#include "pipeline/engine/error_sums.hpp"
#include "pipeline/engine/transcode.hpp"

namespace quantflow::pipeline {

bool transcodes_whole_tensor(const TensorJob& job) {
  return !job.is_copy() && (job.source.dtype.whole_tensor || dtype_of(*job.encoder).whole_tensor);
}

namespace {

// The codec call's result as this tensor's error, naming the plugin when the codec reported it.
Status codec_failure(const TensorJob& job, const CodecDescriptor& codec, const char* direction, int32_t code,
                     const std::string& thrown) {
  const bool known = code >= QF_CODEC_NEEDS_IMATRIX && code <= QF_CODEC_UNSUPPORTED;
  std::string message = fmt::format("{} {} failed: {}", codec.name, direction,
                                    thrown.empty() ? codec_result_message(code) : "it threw: " + thrown);
  message += " (plugin " + core::plugin_path_of(&codec) + ")";
  return Status(known ? ErrorCode::bad_input : ErrorCode::internal, std::move(message)).with_tensor(job.source.name);
}

// Calls a codec entry point, turning an exception into a failure like any other.
template <typename Call>
int32_t guarded(Call&& call, std::string& thrown) {
  try {
    return call();
  } catch (...) {
    thrown = core::current_exception_text();
    return -1;
  }
}

}  // namespace

Result<std::vector<std::byte>> transcode_whole_tensor(const TensorJob& job, std::span<const std::byte> source,
                                                      const std::vector<float>* imatrix, TensorStats* stats) {
  if (job.part != TensorJob::Part::whole || job.scale_source_index)
    return usage_error("a row-scaled encoding cannot be paired with a whole-tensor encoding")
        .with_tensor(job.source.name);
  const DType target = dtype_of(*job.encoder);
  const EncodingRows in = encoding_rows(job.source.dtype, job.source.shape);
  const EncodingRows out_rows = encoding_rows(target, job.source.shape);
  const uint64_t n = element_count(job.source.shape);
  std::vector<std::byte> out(job.target.n_bytes);
  if (n == 0) return out;

  std::vector<float> values(n);
  std::string thrown;
  int32_t rc = guarded(
      [&] {
        return job.decoder->decode(source.data(), values.data(), static_cast<int64_t>(in.n_rows),
                                   static_cast<int64_t>(in.n_per_row));
      },
      thrown);
  if (rc != QF_CODEC_OK) return codec_failure(job, *job.decoder, "decode", rc, thrown);
  if (static_cast<DTypeKind>(job.encoder->kind) == DTypeKind::quantized &&
      !std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); }))
    return bad_input(fmt::format("{} encode failed: {}", job.encoder->name, codec_result_message(QF_CODEC_NON_FINITE)))
        .with_tensor(job.source.name);
  // Importance weights are per column of real rows; a whole-tensor encoder has none.
  const float* weights =
      imatrix != nullptr && !target.whole_tensor && imatrix->size() == out_rows.n_per_row ? imatrix->data() : nullptr;
  rc = guarded(
      [&] {
        return job.encoder->encode(values.data(), out.data(), static_cast<int64_t>(out_rows.n_rows),
                                   static_cast<int64_t>(out_rows.n_per_row), weights);
      },
      thrown);
  if (rc != QF_CODEC_OK) return codec_failure(job, *job.encoder, "encode", rc, thrown);

  if (stats != nullptr && job.encoder->decode != nullptr) {
    std::vector<float> roundtrip(n);
    rc = guarded(
        [&] {
          return job.encoder->decode(out.data(), roundtrip.data(), static_cast<int64_t>(out_rows.n_rows),
                                     static_cast<int64_t>(out_rows.n_per_row));
        },
        thrown);
    if (rc != QF_CODEC_OK) return codec_failure(job, *job.encoder, "decode", rc, thrown);
    ErrorSums sums;
    sums.add(values.data(), roundtrip.data(), n);
    sums.store(*stats);
  }
  return out;
}

}  // namespace quantflow::pipeline
