#include "pipeline/analysis/error_bounds.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/config_paths.hpp"

namespace quantflow::pipeline {

namespace {

// The safety factor over the measured error: real weights have heavier tails than the
// gaussian rows the measurements used, so a correct encoder may do somewhat worse.
constexpr double kSafetyFactor = 3.0;

// codec -> relative RMSE measured on gaussian rows, from the first verify/calibration.tsv on
// the configuration search path (configs/verify/calibration.tsv as shipped). Data, not code:
// the core names no encoding, and a third-party codec's calibration is one line in a file.
const std::map<std::string, double, std::less<>>& measured_errors() {
  static const std::map<std::string, double, std::less<>> table = [] {
    std::map<std::string, double, std::less<>> out;
    for (const auto& dir : core::config_search_path("verify")) {
      std::ifstream tsv(std::filesystem::path(dir) / "calibration.tsv");
      if (!tsv) continue;
      for (std::string line; std::getline(tsv, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string codec;
        double rel_rmse = 0;
        if (fields >> codec >> rel_rmse && rel_rmse >= 0) out.emplace(codec, rel_rmse);
      }
      break;
    }
    return out;
  }();
  return table;
}

// f32 stores an f32 source exactly, but a wider source (f64) is rounded to 24 bits.
constexpr double kF32Rounding = 1e-7;

}  // namespace

double rel_rmse_bound(const DType& dtype) {
  const auto& measured = measured_errors();
  if (const auto it = measured.find(dtype.name); it != measured.end())
    return std::max(it->second * kSafetyFactor, kF32Rounding);
  const double bits = 8.0 * dtype.block_bytes / dtype.block_elems;
  // Integer block quantizers in the table follow rel RMSE ~= 1.9 * 2^-bits (q8_0 at 8.5 bits:
  // 0.0052, q4_0 at 4.5: 0.082, q2_k at 2.6: 0.29). Float-like encodings (f16, f8_e4m3, fp8
  // blocks) spend about half their bits on the exponent, ~= 2^-(bits/2). An unknown encoding
  // may be either, so it gets the looser of the two: still far below the ~1.0 of garbage.
  const double typical = std::max(1.9 * std::exp2(-bits), std::exp2(-bits / 2.0));
  return std::max(typical * kSafetyFactor, kF32Rounding);
}

}  // namespace quantflow::pipeline
