// A thin wrapper over Slurm's client commands (sbatch, squeue, scancel), run as child processes
// with argument vectors (no shell): what `quantflow batch --executor slurm` submits and watches.
// The commands find their cluster through the environment (SLURM_CONF), as a user's would.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "quantflow/status.hpp"

namespace quantflow::batch {

// What each array task asks of Slurm; empty or zero fields are left to the cluster's defaults.
// ({} initialisers: g++ warns about fields a designated initialiser leaves out otherwise.)
struct SlurmResources {
  int cpus_per_task = 0;                     // --cpus-per-task
  std::string memory{};                      // --mem, e.g. "4G"
  std::string time{};                        // --time, e.g. "02:00:00"
  std::string partition{};                   // --partition
  std::string job_name{};                    // --job-name
  std::vector<std::string> extra_options{};  // passed to sbatch as they are, before the script
  int max_parallel = 0;                      // the array's "%N": at most N tasks running at once
};

// Sorted, duplicate-free task ids as sbatch's --array list: {0,1,2,3,5,7} -> "0-3,5,7".
std::string compress_task_ids(std::vector<size_t> task_ids);

// sbatch's arguments (without "sbatch") for submit_array; empty `task_ids` is the caller's bug.
std::vector<std::string> sbatch_arguments(const std::string& script_path, const std::vector<size_t>& task_ids,
                                          const SlurmResources& resources, const std::string& log_pattern);

// Submits `script_path` as an array job of `task_ids`, stdout and stderr of each task to
// `log_pattern` (sbatch's %A array job id, %a task id); returns the array job id. An error
// carries sbatch's stderr on one line.
Result<std::string> submit_array(const std::string& script_path, const std::vector<size_t>& task_ids,
                                 const SlurmResources& resources, const std::string& log_pattern);

// How the executor reads a Slurm job state.
enum class TaskState { pending, running, finished_or_gone };

// PENDING, REQUEUED, ... -> pending; RUNNING, COMPLETING, ... -> running; COMPLETED, FAILED,
// CANCELLED, TIMEOUT, ... (and anything unknown) -> finished_or_gone.
TaskState task_state(const std::string& slurm_state);

// Task id -> Slurm state (PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, CANCELLED, ...) of
// every task of array job `job_id` that slurmctld still knows: finished tasks stay listed with
// their end state for MinJobAge (300 s by default), then leave; tasks cancelled while pending
// leave at once. A job slurmctld no longer knows gives an empty map.
Result<std::map<size_t, std::string>> array_task_states(const std::string& job_id);

// Parses squeue's "TASK_ID STATE" lines; lines whose id is not a number (N/A) are skipped.
Result<std::map<size_t, std::string>> parse_task_states(const std::string& squeue_output);

// scancel JOB or JOB_TASK; cancelling a finished or unknown job succeeds (scancel exits 0).
Status cancel(const std::string& job_id_or_task);

// True when sbatch is an executable file on PATH.
bool slurm_client_available();

}  // namespace quantflow::batch
