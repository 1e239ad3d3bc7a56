#include "conformance/accuracy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace quantflow::conformance {

namespace {
constexpr double kCeiling = 0.9;
constexpr double kSafetyFactor = 3.0;
}  // namespace

double accuracy_bound(double bits) {
  const double typical = std::max(1.9 * std::exp2(-bits), std::exp2(-bits / 2.0));
  return std::min(kCeiling, kSafetyFactor * typical);
}

double relative_rmse(const std::vector<float>& original, const std::vector<float>& decoded, int64_t row,
                     int64_t n_per_row) {
  double error = 0.0, energy = 0.0;
  for (int64_t i = row * n_per_row; i < (row + 1) * n_per_row; ++i) {
    const double x = original[static_cast<size_t>(i)];
    const double d = decoded[static_cast<size_t>(i)] - x;
    error += d * d;
    energy += x * x;
  }
  if (energy == 0.0) return error == 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
  return std::sqrt(error / energy);
}

int64_t first_non_finite(const std::vector<float>& values) {
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i])) return static_cast<int64_t>(i);
  return -1;
}

}  // namespace quantflow::conformance
