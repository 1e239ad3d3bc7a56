#include "cli/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "core/units.hpp"

namespace quantflow::cli {

std::function<void(const pipeline::Progress&)> terminal_progress() {
  if (!::isatty(STDERR_FILENO)) return {};
  auto start = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  return [start](const pipeline::Progress& p) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - *start).count();
    const double rate = elapsed > 0 ? static_cast<double>(p.bytes_done) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(p.bytes_total - p.bytes_done) / rate : 0;
    std::fprintf(stderr, "\r\033[K[%zu/%zu] %s / %s  %s/s  ETA %.0fs", p.tensors_done, p.tensors_total,
                 core::format_size(p.bytes_done).c_str(), core::format_size(p.bytes_total).c_str(),
                 core::format_size(static_cast<uint64_t>(rate)).c_str(), eta);
    if (p.tensors_done == p.tensors_total) std::fputc('\n', stderr);
    std::fflush(stderr);
  };
}

}  // namespace quantflow::cli
