#include "pipeline/analysis/verify.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <unordered_map>

#include "pipeline/analysis/error_bounds.hpp"
#include "pipeline/analysis/tensor_compare.hpp"

namespace quantflow::pipeline {

namespace {

// A reader's tensor bytes, held only while one tensor is checked.
class TensorHandle {
 public:
  TensorHandle(const Reader& reader, const core::Registry& registry, size_t index)
      : reader_(reader), index_(index), data_(reader.read(index)) {
    tensor_.info = &reader.tensors()[index];
    tensor_.codec = registry.find(tensor_.info->dtype.name);
    if (data_.ok()) tensor_.bytes = data_->bytes;
  }
  ~TensorHandle() { reader_.release(index_); }
  TensorHandle(const TensorHandle&) = delete;
  TensorHandle& operator=(const TensorHandle&) = delete;

  const Status& read_status() const { return data_.status(); }
  bool read_ok() const { return data_.ok(); }
  const EncodedTensor& tensor() const { return tensor_; }

 private:
  const Reader& reader_;
  size_t index_;
  Result<TensorData> data_;
  EncodedTensor tensor_;
};

// The reason without the "tensor 'NAME': " prefix, which the table already shows.
std::string reason_of(const Status& status) { return status.message(); }

TensorVerdict verdict_for(const std::string& name, const std::string& dtype) {
  TensorVerdict verdict;
  verdict.name = name;
  verdict.dtype = dtype;
  return verdict;
}

TensorVerdict fail(TensorVerdict verdict, std::string reason) {
  verdict.status = VerifyStatus::failed;
  verdict.reason = std::move(reason);
  return verdict;
}

std::string non_finite_reason(const NonFiniteCount& found, const char* where) {
  return fmt::format("{} NaN/Inf value{}{}, first at element {}", found.count, found.count == 1 ? "" : "s", where,
                     found.first_index);
}

// Structural checks only: readable, right size, decodable, finite.
TensorVerdict check_alone(const TensorHandle& handle) {
  const EncodedTensor& t = handle.tensor();
  TensorVerdict verdict = verdict_for(t.info->name, t.info->dtype.name);
  if (!handle.read_ok()) return fail(verdict, "cannot read: " + reason_of(handle.read_status()));
  if (Status layout = check_decodable_layout(t); !layout.ok()) return fail(verdict, reason_of(layout));
  if (!t.decodable()) {
    verdict.status = VerifyStatus::not_checked;
    verdict.reason = "no loaded codec decodes " + t.info->dtype.name;
    return verdict;
  }
  auto found = count_non_finite(t);
  if (!found.ok()) return fail(verdict, reason_of(found.status()));
  if (found->count > 0) return fail(verdict, non_finite_reason(*found, ""));
  return verdict;
}

bool same_bytes(const EncodedTensor& a, const EncodedTensor& b) {
  return a.bytes.size() == b.bytes.size() && std::memcmp(a.bytes.data(), b.bytes.data(), a.bytes.size()) == 0;
}

// Compares one tensor with its original after the structural checks passed (NaN/Inf are
// judged here instead, against where the original had them).
TensorVerdict check_against(const TensorHandle& handle, const TensorHandle& original) {
  const EncodedTensor& t = handle.tensor();
  const EncodedTensor& o = original.tensor();
  TensorVerdict verdict = verdict_for(t.info->name, t.info->dtype.name);
  if (!handle.read_ok()) return fail(verdict, "cannot read: " + reason_of(handle.read_status()));
  if (Status layout = check_decodable_layout(t); !layout.ok()) return fail(verdict, reason_of(layout));
  if (t.info->shape != o.info->shape)
    return fail(verdict,
                "shape " + shape_to_string(t.info->shape) + " but the original has " + shape_to_string(o.info->shape));
  if (!original.read_ok()) return fail(verdict, "cannot read the original: " + reason_of(original.read_status()));
  const bool same_encoding = t.info->dtype == o.info->dtype;
  if (same_encoding && !same_bytes(t, o))
    return fail(verdict, "same encoding as the original (" + o.info->dtype.name + ") but the bytes differ");
  if (!t.decodable() || !o.decodable()) {
    if (same_encoding) {  // identical bytes in an identical encoding need no codec
      verdict.measured = true;
      verdict.reason = "bytes identical to the original";
      return verdict;
    }
    verdict.status = VerifyStatus::not_checked;
    verdict.reason = "no loaded codec decodes " + (t.decodable() ? o.info->dtype.name : t.info->dtype.name);
    return verdict;
  }
  auto stats = compare_decoded(t, o);
  if (!stats.ok()) return fail(verdict, reason_of(stats.status()));
  verdict.measured = true;
  verdict.rel_rmse = stats->rel_rmse;
  verdict.max_abs = stats->max_abs;
  verdict.bound = same_encoding ? 0.0 : rel_rmse_bound(t.info->dtype);
  if (stats->candidate_non_finite.count > 0)
    return fail(verdict, non_finite_reason(stats->candidate_non_finite, " where the original is finite"));
  if (!(verdict.rel_rmse <= verdict.bound))
    return fail(verdict, fmt::format("relative RMSE {:.4g} exceeds the {} bound {:.4g}", verdict.rel_rmse,
                                     t.info->dtype.name, verdict.bound));
  if (stats->reference_non_finite > 0)
    verdict.reason = fmt::format("{} NaN/Inf value(s) also in the original", stats->reference_non_finite);
  return verdict;
}

}  // namespace

const char* verify_status_name(VerifyStatus status) {
  switch (status) {
    case VerifyStatus::passed:
      return "passed";
    case VerifyStatus::failed:
      return "FAILED";
    case VerifyStatus::not_checked:
      return "not checked";
  }
  return "?";
}

size_t VerifyReport::count(VerifyStatus status) const {
  return static_cast<size_t>(
      std::count_if(tensors.begin(), tensors.end(), [&](const TensorVerdict& v) { return v.status == status; }));
}

Result<VerifyReport> verify_model(const core::Registry& registry, const std::string& path,
                                  const std::optional<std::string>& original_path,
                                  const ReadProgressCallback& on_progress) {
  QF_ASSIGN_OR_RETURN(auto reader, registry.open_reader(path));
  std::unique_ptr<Reader> original;
  if (original_path) {
    QF_ASSIGN_OR_RETURN(original, registry.open_reader(*original_path));
  }
  VerifyReport report{reader->container(), reader->version(), reader->properties(), {}};

  std::unordered_map<std::string, size_t> original_index;
  if (original)
    for (size_t i = 0; i < original->tensors().size(); ++i) original_index.emplace(original->tensors()[i].name, i);

  // Each tensor is read, and so is its namesake in the original.
  auto bytes_read = [&](const TensorInfo& tensor) {
    const auto match = original_index.find(tensor.name);
    return tensor.n_bytes + (match == original_index.end() ? 0 : original->tensors()[match->second].n_bytes);
  };
  ReadProgress progress{.tensors_total = reader->tensors().size()};
  for (const auto& tensor : reader->tensors()) progress.bytes_total += bytes_read(tensor);
  if (on_progress) on_progress(progress);
  auto step = [&](const TensorInfo& tensor) {
    ++progress.tensors_done;
    progress.last = &tensor;
    progress.last_bytes = bytes_read(tensor);
    progress.bytes_done += progress.last_bytes;
    if (on_progress) on_progress(progress);
  };

  std::vector<bool> original_matched(original ? original->tensors().size() : 0, false);
  auto verdict_for = [&](size_t i) {
    const TensorHandle handle(*reader, registry, i);
    if (!original) return check_alone(handle);
    const auto match = original_index.find(handle.tensor().info->name);
    if (match == original_index.end()) {
      TensorVerdict verdict = check_alone(handle);
      if (verdict.status != VerifyStatus::failed) verdict = fail(std::move(verdict), "not in the original");
      return verdict;
    }
    original_matched[match->second] = true;
    const TensorHandle original_handle(*original, registry, match->second);
    return check_against(handle, original_handle);
  };
  for (size_t i = 0; i < reader->tensors().size(); ++i) {
    report.tensors.push_back(verdict_for(i));
    step(reader->tensors()[i]);
  }
  for (size_t i = 0; i < original_matched.size(); ++i)
    if (!original_matched[i])
      report.tensors.push_back(
          {original->tensors()[i].name, "", VerifyStatus::failed, "missing: only in the original"});
  return report;
}

}  // namespace quantflow::pipeline
