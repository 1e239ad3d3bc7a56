// Tasks side by side in this process: at most `parallel` at once, all in one oneTBB arena of
// `threads` workers, each with its share of the batch's memory budget (set when it was
// prepared). A task's failure is recorded and the others go on.
#pragma once

#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "batch/run_task.hpp"

namespace quantflow::batch {

struct LocalOptions {
  int parallel = 1;
  int threads = 0;  // 0: all cores
  // Called (serialised) with each task's final manifest entry as it finishes.
  std::function<void(const nlohmann::json&)> on_finished;
};

// Runs `tasks` and returns their final entries in the order given. A manifest that cannot be
// written stops the batch with that error.
Result<std::vector<nlohmann::json>> run_local(const core::Registry& registry,
                                              const std::vector<const PreparedTask*>& tasks, const Manifest& manifest,
                                              const LocalOptions& options);

}  // namespace quantflow::batch
