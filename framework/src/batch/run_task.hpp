// One task from its plan to its published output and its manifest entry; and whether an earlier
// output is still up to date. Both executors (local, Slurm) run tasks through here.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "batch/job_plan.hpp"
#include "batch/manifest.hpp"

namespace quantflow::batch {

// The manifest fields a task has before it runs: id, index, model, job, output, key, inputs,
// expanded recipe, plugins, estimates.
nlohmann::json task_description(const PreparedTask& prepared);

// Whether the manifest's entry for this task is a finished run with the same key whose output
// files are all still there, unchanged. Otherwise `why` says what differs.
bool up_to_date(const PreparedTask& prepared, const nlohmann::json* entry, std::string& why);

struct RunContext {
  std::string executor;  // "local" or "slurm"
  nlohmann::json extra;  // merged into the entry (the Slurm job and task ids, the host)
};

// Runs the task: takes the output's lock, records it as running, executes the conversion,
// hashes what it wrote and records the result. Returns the final entry (status "done" or
// "failed" with "error"); the Status is not ok only when the manifest itself cannot be written.
Result<nlohmann::json> run_task(const core::Registry& registry, const PreparedTask& prepared, const Manifest& manifest,
                                const RunContext& context);

// A task that could not even be planned, recorded as failed.
nlohmann::json failed_description(const BatchTask& task, const Status& error);

}  // namespace quantflow::batch
