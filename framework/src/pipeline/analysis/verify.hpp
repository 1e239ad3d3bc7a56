// `quantflow verify`: checks every tensor of a model file decodes to finite values and,
// against the file it was made from, stays within its encoding's error bound.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/registry.hpp"
#include "pipeline/analysis/read_progress.hpp"
#include "quantflow/status.hpp"

namespace quantflow::pipeline {

enum class VerifyStatus { passed, failed, not_checked };

const char* verify_status_name(VerifyStatus status);

struct TensorVerdict {
  std::string name;
  std::string dtype;  // "" for a tensor only the original has
  VerifyStatus status = VerifyStatus::passed;
  std::string reason;     // why it failed or was not checked; a note when it passed
  bool measured = false;  // rel_rmse and max_abs hold a comparison with the original
  double rel_rmse = 0;
  double max_abs = 0;
  double bound = 0;  // the rel RMSE bound applied, when measured
};

struct VerifyReport {
  std::string container;
  std::string version;
  std::vector<Property> properties;
  std::vector<TensorVerdict> tensors;  // the file's tensors in order, then those only the original has

  size_t count(VerifyStatus status) const;
  bool passed() const { return count(VerifyStatus::failed) == 0; }
};

// Fails (with the file named) only when a file cannot be opened; everything found inside
// a file that opened is a verdict in the report.
// `on_progress`, when set, hears of every tensor of `path` as it is checked.
Result<VerifyReport> verify_model(const core::Registry& registry, const std::string& path,
                                  const std::optional<std::string>& original_path,
                                  const ReadProgressCallback& on_progress = {});

}  // namespace quantflow::pipeline
