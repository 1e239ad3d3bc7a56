// The sums behind TensorStats: squared error and signal, the largest error and the count of
// non-finite results. Each chunk of a tensor keeps its own and they are merged in chunk order,
// so the figures do not depend on how chunks were scheduled.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "pipeline/engine/transcode.hpp"

namespace quantflow::pipeline {

struct ErrorSums {
  double err2 = 0, sig2 = 0, max_abs = 0;
  uint64_t non_finite = 0;

  // `decoded[i]` against `source[i]`; non-finite source values are not measured.
  void add(const float* source, const float* decoded, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      const double x = source[i], d = static_cast<double>(decoded[i]) - x;
      if (!std::isfinite(x)) continue;
      if (!std::isfinite(d)) {
        ++non_finite;
        continue;
      }
      err2 += d * d;
      sig2 += x * x;
      max_abs = std::max(max_abs, std::fabs(d));
    }
  }

  void merge(const ErrorSums& other) {
    err2 += other.err2;
    sig2 += other.sig2;
    max_abs = std::max(max_abs, other.max_abs);
    non_finite += other.non_finite;
  }

  void store(TensorStats& stats) const {
    stats.measured = true;
    stats.rel_rmse = sig2 > 0 ? std::sqrt(err2 / sig2) : 0;
    stats.max_abs = max_abs;
    stats.non_finite = non_finite;
  }
};

}  // namespace quantflow::pipeline
