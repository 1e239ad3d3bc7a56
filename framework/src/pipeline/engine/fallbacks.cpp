#include "pipeline/engine/fallbacks.hpp"

#include <cmath>

#include <fmt/format.h>

#include "core/units.hpp"

namespace quantflow::pipeline {

namespace {

double bits_per_weight(const DType& dtype) {
  return 8.0 * static_cast<double>(dtype.block_bytes) / static_cast<double>(dtype.block_elems);
}

}  // namespace

std::string Fallback::why() const {
  return fmt::format("row length {} is not a multiple of {}'s block of {}", row_length, wanted, wanted_block);
}

std::vector<Fallback> fallbacks_of(const Plan& plan) {
  std::vector<Fallback> out;
  for (const TensorJob& job : plan.jobs) {
    if (!job.fallback_from || job.part == TensorJob::Part::row_scales) continue;
    const DType& wanted = *job.fallback_from;
    const double bpw = bits_per_weight(job.target.dtype) - bits_per_weight(wanted);
    out.push_back({.tensor = job.target.name,
                   .wanted = wanted.name,
                   .used = job.target.dtype.name,
                   .row_length = row_length(job.source.shape),
                   .wanted_block = wanted.block_elems,
                   .bits_per_weight = bpw,
                   .extra_bytes = bpw * static_cast<double>(element_count(job.source.shape)) / 8.0});
  }
  return out;
}

nlohmann::json fallback_json(const Fallback& fallback) {
  return {{"tensor", fallback.tensor},
          {"wanted", fallback.wanted},
          {"used", fallback.used},
          {"why", fallback.why()},
          {"bits_per_weight", fallback.bits_per_weight},
          {"extra_bytes", std::llround(fallback.extra_bytes)}};
}

std::string fallback_line(const Fallback& fallback) {
  const double bytes = std::abs(fallback.extra_bytes);
  const std::string size =
      bytes < 1024 ? fmt::format("{:.0f} B", bytes) : core::format_size(static_cast<uint64_t>(std::llround(bytes)));
  return fmt::format("{}: {} -> {} ({}), {:+.2f} bpw, {}{}", fallback.tensor, fallback.wanted, fallback.used,
                     fallback.why(), fallback.bits_per_weight, fallback.extra_bytes < 0 ? "-" : "+", size);
}

}  // namespace quantflow::pipeline
