// A fixed set of runner threads taking tasks in order; every conversion's flow graph runs in
// the one arena, so two tasks never use more than `threads` cores between them.
#include "batch/local_executor.hpp"

#include <atomic>
#include <mutex>
#include <thread>

#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/task_arena.h>

namespace quantflow::batch {

Result<std::vector<nlohmann::json>> run_local(const core::Registry& registry,
                                              const std::vector<const PreparedTask*>& tasks, const Manifest& manifest,
                                              const LocalOptions& options) {
  std::vector<nlohmann::json> entries(tasks.size());
  const int threads = options.threads > 0 ? options.threads : tbb::info::default_concurrency();
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
  tbb::task_arena arena(threads);
  std::atomic<size_t> next{0};
  std::mutex report;
  Status manifest_error;
  const auto runner = [&] {
    for (size_t i = next++; i < tasks.size(); i = next++) {
      Result<nlohmann::json> entry = internal_error("not run");
      arena.execute([&] { entry = run_task(registry, *tasks[i], manifest, {"local", nlohmann::json::object()}); });
      std::lock_guard lock(report);
      if (!entry.ok()) {
        if (manifest_error.ok()) manifest_error = entry.take_status();
        next = tasks.size();  // the record is gone: stop taking tasks
        continue;
      }
      entries[i] = *entry;
      if (options.on_finished) options.on_finished(entries[i]);
    }
  };
  const size_t parallel = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(options.parallel), tasks.size()));
  std::vector<std::thread> runners;
  for (size_t r = 1; r < parallel; ++r) runners.emplace_back(runner);
  runner();
  for (auto& t : runners) t.join();
  if (!manifest_error.ok()) return manifest_error;
  return entries;
}

}  // namespace quantflow::batch
