// The batch on a Slurm cluster: one `sbatch --array` submission whose task N runs
// `quantflow batch BATCH.yaml --run-task N` (this binary, the same plugin directories), so each
// array task plans, runs and records exactly one task of the batch. Following the array means
// polling squeue and the manifest; a task that leaves the queue without recording a result
// (killed, cancelled, out of time, node lost) is recorded as failed, naming its log file.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "batch/expansion.hpp"
#include "batch/manifest.hpp"

namespace quantflow::batch {

struct SlurmRun {
  std::string quantflow;                                   // absolute path of the binary the tasks run
  std::vector<std::string> task_args;                      // options every task gets (--plugin-dir, --threads, ...)
  std::function<void(const nlohmann::json&)> on_finished;  // each task's final entry, once
  int poll_milliseconds = 1000;
};

// Writes the task script, submits the tasks as one array and records them as submitted.
// Returns the Slurm job id.
Result<std::string> submit_to_slurm(const BatchFile& batch, const std::vector<const BatchTask*>& tasks,
                                    const Manifest& manifest, const SlurmRun& run);

// Waits until no task of `job_id` is queued or running; returns the final entries of `tasks`.
Result<std::vector<nlohmann::json>> follow_slurm(const BatchFile& batch, const std::string& job_id,
                                                 const std::vector<const BatchTask*>& tasks, const Manifest& manifest,
                                                 const SlurmRun& run);

// The Slurm log file of one array task.
std::string slurm_log_path(const BatchFile& batch, const std::string& job_id, size_t task_index);

// For `batch status`: entries recorded as submitted or running whose Slurm task has left the
// queue without a result. Returns (task id, reason) pairs; empty when Slurm is not reachable.
std::vector<std::pair<std::string, std::string>> lost_slurm_tasks(const BatchFile& batch,
                                                                  const nlohmann::json& manifest);

}  // namespace quantflow::batch
