#include "pipeline/engine/importance.hpp"

#include <fmt/format.h>

namespace quantflow::pipeline {

Result<const std::vector<float>*> ImportanceMatrix::for_tensor(const TensorInfo& tensor) const {
  auto it = weights.find(tensor.name);
  if (it == weights.end()) return static_cast<const std::vector<float>*>(nullptr);
  const uint64_t row = row_length(tensor.shape);
  const uint64_t matrices = tensor.shape.size() >= 3 ? tensor.shape[0] : 1;
  const uint64_t n = it->second.size();
  if (n != row && n != row * matrices)
    return bad_input(fmt::format("the importance matrix {} has {} weights for it, expected {}{}", file, n, row,
                                 matrices > 1 ? fmt::format(" or {}", row * matrices) : ""))
        .with_tensor(tensor.name);
  return &it->second;
}

Status attach_importance(Plan& plan, const ImportanceMatrix* imatrix) {
  for (TensorJob& job : plan.jobs) {
    job.importance = nullptr;
    if (job.is_copy()) continue;
    if (imatrix != nullptr) {
      QF_ASSIGN_OR_RETURN(job.importance, imatrix->for_tensor(job.source));
    }
    if (job.importance == nullptr && (job.encoder->flags & QF_CODEC_IMATRIX_REQUIRED))
      return usage_error(fmt::format("{} needs an importance matrix{}", job.encoder->name,
                                     imatrix ? ", and " + imatrix->file + " has none for this tensor"
                                             : "; pass one with --imatrix FILE"))
          .with_tensor(job.source.name);
  }
  return {};
}

}  // namespace quantflow::pipeline
