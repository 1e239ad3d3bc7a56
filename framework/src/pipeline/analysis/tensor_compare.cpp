#include "pipeline/analysis/tensor_compare.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace quantflow::pipeline {

namespace {

// About 4 MiB of floats per decoded chunk, and never less than one row.
constexpr uint64_t kChunkElements = uint64_t{1} << 20;

// Decodes a tensor a chunk of rows at a time; a whole-tensor encoding (DType::whole_tensor)
// only as one chunk of every row.
class ChunkDecoder {
 public:
  explicit ChunkDecoder(const EncodedTensor& tensor)
      : tensor_(tensor),
        row_elems_(row_length(tensor.info->shape)),
        row_bytes_(tensor.info->dtype.bytes_for(row_elems_)) {}

  uint64_t rows_per_chunk() const {
    if (tensor_.info->dtype.whole_tensor) return std::max<uint64_t>(1, row_count(tensor_.info->shape));
    return std::max<uint64_t>(1, kChunkElements / std::max<uint64_t>(1, row_elems_));
  }
  uint64_t row_elems() const { return row_elems_; }

  Result<std::span<const float>> decode(uint64_t first_row, uint64_t n_rows) {
    values_.resize(n_rows * row_elems_);
    const bool whole = tensor_.info->dtype.whole_tensor;
    const int32_t rc =
        whole ? tensor_.codec->decode(tensor_.bytes.data(), values_.data(), 1, static_cast<int64_t>(values_.size()))
              : tensor_.codec->decode(tensor_.bytes.data() + first_row * row_bytes_, values_.data(),
                                      static_cast<int64_t>(n_rows), static_cast<int64_t>(row_elems_));
    if (rc != QF_CODEC_OK)
      return bad_input(std::string("decoding failed: ") + codec_result_message(rc)).with_tensor(tensor_.info->name);
    return std::span<const float>(values_);
  }

 private:
  const EncodedTensor& tensor_;
  uint64_t row_elems_;
  uint64_t row_bytes_;
  std::vector<float> values_;
};

Status require_decodable(const EncodedTensor& tensor) {
  if (!tensor.decodable())
    return unsupported("no loaded codec decodes " + tensor.info->dtype.name).with_tensor(tensor.info->name);
  return check_decodable_layout(tensor);
}

}  // namespace

Status check_decodable_layout(const EncodedTensor& tensor) {
  const TensorInfo& t = *tensor.info;
  const uint64_t row = row_length(t.shape);
  if (!t.dtype.fits_row(row))
    return bad_input("the row length " + std::to_string(row) + " is not a multiple of " + t.dtype.name +
                     "'s block size " + std::to_string(t.dtype.block_elems))
        .with_tensor(t.name);
  const uint64_t expected = t.dtype.bytes_for(element_count(t.shape));
  if (t.n_bytes != expected || tensor.bytes.size() != expected)
    return bad_input("holds " + std::to_string(tensor.bytes.size()) + " bytes (declared " + std::to_string(t.n_bytes) +
                     ") but " + std::to_string(element_count(t.shape)) + " " + t.dtype.name + " elements take " +
                     std::to_string(expected))
        .with_tensor(t.name);
  return {};
}

Result<NonFiniteCount> count_non_finite(const EncodedTensor& tensor) {
  QF_RETURN_IF_ERROR(require_decodable(tensor));
  NonFiniteCount found;
  ChunkDecoder decoder(tensor);
  const uint64_t rows = row_count(tensor.info->shape);
  for (uint64_t row = 0; row < rows; row += decoder.rows_per_chunk()) {
    QF_ASSIGN_OR_RETURN(auto values, decoder.decode(row, std::min(decoder.rows_per_chunk(), rows - row)));
    for (size_t i = 0; i < values.size(); ++i) {
      if (std::isfinite(values[i])) continue;
      if (found.count++ == 0) found.first_index = row * decoder.row_elems() + i;
    }
  }
  return found;
}

Result<ErrorStats> compare_decoded(const EncodedTensor& candidate, const EncodedTensor& reference) {
  QF_RETURN_IF_ERROR(require_decodable(candidate));
  QF_RETURN_IF_ERROR(require_decodable(reference));
  if (candidate.info->shape != reference.info->shape)
    return bad_input("shapes differ: " + shape_to_string(candidate.info->shape) + " vs " +
                     shape_to_string(reference.info->shape))
        .with_tensor(candidate.info->name);
  ErrorStats stats;
  double sum_sq_error = 0, sum_sq_reference = 0;
  ChunkDecoder cand_decoder(candidate), ref_decoder(reference);
  const uint64_t rows = row_count(candidate.info->shape);
  // Both decoders step alike; a whole-tensor side makes it one chunk for both.
  const uint64_t chunk = std::max(cand_decoder.rows_per_chunk(), ref_decoder.rows_per_chunk());
  for (uint64_t row = 0; row < rows; row += chunk) {
    const uint64_t n = std::min(chunk, rows - row);
    QF_ASSIGN_OR_RETURN(auto cand, cand_decoder.decode(row, n));
    QF_ASSIGN_OR_RETURN(auto ref, ref_decoder.decode(row, n));
    for (size_t i = 0; i < cand.size(); ++i) {
      if (!std::isfinite(ref[i])) {
        ++stats.reference_non_finite;
        continue;
      }
      if (!std::isfinite(cand[i])) {
        if (stats.candidate_non_finite.count++ == 0)
          stats.candidate_non_finite.first_index = row * cand_decoder.row_elems() + i;
        continue;
      }
      const double error = static_cast<double>(cand[i]) - static_cast<double>(ref[i]);
      sum_sq_error += error * error;
      sum_sq_reference += static_cast<double>(ref[i]) * static_cast<double>(ref[i]);
      stats.max_abs = std::max(stats.max_abs, std::abs(error));
    }
  }
  if (sum_sq_reference > 0)
    stats.rel_rmse = std::sqrt(sum_sq_error / sum_sq_reference);
  else if (sum_sq_error > 0)
    stats.rel_rmse = std::numeric_limits<double>::infinity();  // any error on an all-zero tensor is unbounded
  return stats;
}

}  // namespace quantflow::pipeline
