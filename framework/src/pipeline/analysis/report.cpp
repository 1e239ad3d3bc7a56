#include "pipeline/analysis/report.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/units.hpp"
#include "pipeline/engine/direct.hpp"

namespace quantflow::pipeline {

Report make_report(const Plan& plan, const std::vector<TensorStats>& stats, double seconds) {
  Report r;
  r.seconds = seconds;
  for (size_t i = 0; i < plan.jobs.size(); ++i) {
    const TensorJob& job = plan.jobs[i];
    Report::Tensor t{job.target.name,
                     job.source.dtype.name,
                     job.target.dtype.name,
                     job.target.shape,
                     job.source_bytes_read(),
                     job.target.n_bytes,
                     {}};
    if (i < stats.size()) t.stats = stats[i];
    r.source_bytes += t.source_bytes;
    r.target_bytes += t.target_bytes;
    r.tensors.push_back(std::move(t));
  }
  r.fallbacks = fallbacks_of(plan);
  return r;
}

namespace {

std::map<std::string, size_t> count_by_target(const Report& report) {
  std::map<std::string, size_t> by;
  for (const auto& t : report.tensors) ++by[t.target_type];
  return by;
}

double ratio(const Report& r) {
  return r.target_bytes > 0 ? static_cast<double>(r.source_bytes) / static_cast<double>(r.target_bytes) : 0;
}

}  // namespace

nlohmann::json report_to_json(const Report& report) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& t : report.tensors) {
    nlohmann::json j = {{"name", t.name},   {"source_type", t.source_type},   {"target_type", t.target_type},
                        {"shape", t.shape}, {"source_bytes", t.source_bytes}, {"target_bytes", t.target_bytes}};
    if (t.stats.measured) {
      j["rel_rmse"] = t.stats.rel_rmse;
      j["max_abs_error"] = t.stats.max_abs;
      j["non_finite"] = t.stats.non_finite;
    }
    // Only tensors that had a transcoder say how they went (engine/direct).
    if (const std::string_view route = route_name(t.stats.route); !route.empty()) j["route"] = route;
    tensors.push_back(std::move(j));
  }
  nlohmann::json totals = {{"tensors", report.tensors.size()},    {"by_target_type", count_by_target(report)},
                           {"source_bytes", report.source_bytes}, {"target_bytes", report.target_bytes},
                           {"compression_ratio", ratio(report)},  {"seconds", report.seconds}};
  const auto routed = [&](TranscodeRoute route) {
    return std::count_if(report.tensors.begin(), report.tensors.end(),
                         [route](const Report::Tensor& t) { return t.stats.route == route; });
  };
  if (const auto direct = routed(TranscodeRoute::direct), via_f32 = routed(TranscodeRoute::via_f32);
      direct + via_f32 > 0) {
    totals["transcoded_directly"] = direct;
    totals["transcoded_via_f32"] = via_f32;
  }
  nlohmann::json out = {{"tensors", tensors}, {"totals", totals}};
  if (!report.fallbacks.empty()) {
    out["fallbacks"] = nlohmann::json::array();
    for (const auto& f : report.fallbacks) out["fallbacks"].push_back(fallback_json(f));
  }
  return out;
}

void print_report(std::ostream& os, const Report& report) {
  size_t width = 6;
  for (const auto& t : report.tensors) width = std::max(width, t.name.size());
  os << fmt::format("{:<{}}  {:<8} {:<8} {:>12} {:>12} {:>10} {:>12}\n", "tensor", width, "from", "to", "bytes in",
                    "bytes out", "rel rmse", "max abs err");
  for (const auto& t : report.tensors) {
    const std::string rmse = t.stats.measured ? fmt::format("{:.3e}", t.stats.rel_rmse) : "-";
    const std::string max_abs = t.stats.measured ? fmt::format("{:.3e}", t.stats.max_abs) : "-";
    os << fmt::format("{:<{}}  {:<8} {:<8} {:>12} {:>12} {:>10} {:>12}\n", t.name, width, t.source_type, t.target_type,
                      t.source_bytes, t.target_bytes, rmse, max_abs);
  }
  std::string by;
  for (const auto& [type, n] : count_by_target(report)) by += fmt::format("{}{} {}", by.empty() ? "" : ", ", n, type);
  os << fmt::format("totals: {} tensors ({}); {} -> {} (ratio {:.2f})\n", report.tensors.size(), by,
                    core::format_size(report.source_bytes), core::format_size(report.target_bytes), ratio(report));
  for (const auto& f : report.fallbacks) os << "fallback: " << fallback_line(f) << "\n";
}

}  // namespace quantflow::pipeline
