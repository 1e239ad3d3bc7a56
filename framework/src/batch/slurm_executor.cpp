// Submitting and following the array through the Slurm client commands (slurm_client).
#include "batch/slurm_executor.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "batch/slurm_client.hpp"
#include "core/atomic_output.hpp"

namespace quantflow::batch {

namespace {

namespace fs = std::filesystem;

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string log_pattern(const BatchFile& batch) {
  return (fs::path(batch.state_dir()) / "logs" / "%A_%a.log").string();
}

// The last non-empty line of a task's log: usually its error.
std::string last_log_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

bool finished(const nlohmann::json* entry, const std::string& job_id) {
  if (entry == nullptr || entry->value("slurm_job", "") != job_id) return false;
  const std::string status = entry->value("status", "");
  return status == "done" || status == "failed";
}

}  // namespace

std::string slurm_log_path(const BatchFile& batch, const std::string& job_id, size_t task_index) {
  return (fs::path(batch.state_dir()) / "logs" / fmt::format("{}_{}.log", job_id, task_index)).string();
}

Result<std::string> submit_to_slurm(const BatchFile& batch, const std::vector<const BatchTask*>& tasks,
                                    const Manifest& manifest, const SlurmRun& run) {
  if (!slurm_client_available())
    return unsupported("sbatch is not on PATH: install Slurm's client (Debian: slurm-client) or use --executor local");
  std::error_code ec;
  fs::create_directories(fs::path(batch.state_dir()) / "logs", ec);
  if (ec) return io_error("cannot create the batch's state folder").with_file(batch.state_dir());
  // --set paths are relative to where the batch was started: the tasks start there too.
  std::string script = "#!/bin/sh\n# Written by quantflow batch: array task N runs task N of the batch.\ncd " +
                       shell_quote(fs::current_path().string()) + " || exit 1\nexec " + shell_quote(run.quantflow) +
                       " batch " + shell_quote(fs::absolute(batch.file).string());
  for (const auto& arg : run.task_args) script += " " + shell_quote(arg);
  script += " --run-task \"$SLURM_ARRAY_TASK_ID\"\n";
  const std::string script_path = (fs::path(batch.state_dir()) / "task.sh").string();
  QF_RETURN_IF_ERROR(core::write_file_atomically(script_path, script));
  ::chmod(script_path.c_str(), 0755);

  SlurmResources resources;
  resources.cpus_per_task = batch.slurm.cpus;
  resources.memory = batch.slurm.memory;
  resources.time = batch.slurm.time;
  resources.partition = batch.slurm.partition;
  resources.job_name = "quantflow-" + batch.name;
  resources.extra_options = batch.slurm.options;
  resources.max_parallel = batch.slurm.max_parallel;
  std::vector<size_t> ids;
  for (const auto* task : tasks) ids.push_back(task->index);
  QF_ASSIGN_OR_RETURN(std::string job_id, submit_array(script_path, ids, resources, log_pattern(batch)));
  QF_RETURN_IF_ERROR(manifest.update([&](nlohmann::json& m) {
    for (const auto* task : tasks) {
      const nlohmann::json* old = find_task(m, task->id);
      nlohmann::json entry = old != nullptr ? *old : nlohmann::json::object();
      entry["id"] = task->id;
      entry["index"] = task->index;
      entry["output"] = task->output;
      entry["status"] = "submitted";
      entry["executor"] = "slurm";
      entry["slurm_job"] = job_id;
      entry["slurm_task"] = task->index;
      entry["log"] = slurm_log_path(batch, job_id, task->index);
      entry.erase("error");
      put_task(m, entry);
    }
  }));
  return job_id;
}

Result<std::vector<nlohmann::json>> follow_slurm(const BatchFile& batch, const std::string& job_id,
                                                 const std::vector<const BatchTask*>& tasks, const Manifest& manifest,
                                                 const SlurmRun& run) {
  std::set<std::string> reported;
  while (true) {
    QF_ASSIGN_OR_RETURN(const auto states, array_task_states(job_id));
    QF_ASSIGN_OR_RETURN(const nlohmann::json m, manifest.read());
    for (const auto* task : tasks) {
      const nlohmann::json* entry = find_task(m, task->id);
      if (finished(entry, job_id) && reported.insert(task->id).second && run.on_finished) run.on_finished(*entry);
    }
    // Ended tasks stay listed (COMPLETED, FAILED, ...) for the cluster's MinJobAge.
    const bool active = std::any_of(states.begin(), states.end(),
                                    [](const auto& s) { return task_state(s.second) != TaskState::finished_or_gone; });
    if (!active) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(run.poll_milliseconds));
  }
  // Gone from the queue without a result: killed, cancelled, out of time or memory.
  QF_RETURN_IF_ERROR(manifest.update([&](nlohmann::json& m) {
    for (const auto* task : tasks) {
      const nlohmann::json* entry = find_task(m, task->id);
      if (finished(entry, job_id)) continue;
      nlohmann::json lost = entry != nullptr ? *entry : nlohmann::json{{"id", task->id}, {"index", task->index}};
      const std::string log = slurm_log_path(batch, job_id, task->index);
      const std::string last = last_log_line(log);
      lost["status"] = "failed";
      lost["error"] = fmt::format(
          "Slurm task {}_{} ended without a result (killed, cancelled, or out of time or "
          "memory); log {}{}",
          job_id, task->index, log, last.empty() ? "" : ": " + last);
      lost["finished"] = utc_timestamp();
      put_task(m, lost);
    }
  }));
  QF_ASSIGN_OR_RETURN(const nlohmann::json final_manifest, manifest.read());
  std::vector<nlohmann::json> entries;
  for (const auto* task : tasks) {
    const nlohmann::json* entry = find_task(final_manifest, task->id);
    entries.push_back(entry != nullptr ? *entry : nlohmann::json{{"id", task->id}, {"status", "failed"}});
    if (reported.insert(task->id).second && run.on_finished) run.on_finished(entries.back());
  }
  return entries;
}

std::vector<std::pair<std::string, std::string>> lost_slurm_tasks(const BatchFile& batch,
                                                                  const nlohmann::json& manifest) {
  std::vector<std::pair<std::string, std::string>> lost;
  if (!slurm_client_available() || !manifest.contains("tasks")) return lost;
  std::map<std::string, std::map<size_t, std::string>> queues;
  for (const auto& entry : manifest["tasks"]) {
    const std::string status = entry.value("status", "");
    const std::string job = entry.value("slurm_job", "");
    if ((status != "submitted" && status != "running") || job.empty()) continue;
    if (!queues.count(job)) {
      auto states = array_task_states(job);
      if (!states.ok()) return {};  // Slurm unreachable: say nothing rather than guess
      queues[job] = *states;
    }
    const size_t index = entry.value("slurm_task", size_t{0});
    const auto state = queues[job].find(index);
    if (state == queues[job].end() || task_state(state->second) == TaskState::finished_or_gone)
      lost.emplace_back(entry.value("id", ""), fmt::format("Slurm task {}_{} left the queue without a result; log {}",
                                                           job, index, slurm_log_path(batch, job, index)));
  }
  return lost;
}

}  // namespace quantflow::batch
