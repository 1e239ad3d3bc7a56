// `quantflow batch BATCH.yaml`: many conversions, incremental, on this machine or a Slurm
// cluster; `quantflow batch status BATCH.yaml`; and `--run-task N`, what each array task runs.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "batch/batch_file.hpp"
#include "batch/job_plan.hpp"
#include "batch/local_executor.hpp"
#include "batch/run_task.hpp"
#include "batch/slurm_executor.hpp"
#include "cli/cli_common.hpp"
#include "cli/commands.hpp"
#include "core/units.hpp"
#include "pipeline/engine/executor.hpp"

namespace quantflow::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct BatchOptions {
  std::vector<std::string> positionals;
  std::vector<std::string> sets;
  std::string executor = "local";
  int jobs = 0;      // 0: the batch file's parallel_jobs
  int threads = -1;  // -1: the batch file's
  std::string memory_limit;
  bool dry_run = false, resume = false, force = false, json = false, no_wait = false;
  long run_task = -1;
};

const char* kUsage =
    "usage: quantflow batch BATCH.yaml [--executor local|slurm] [--jobs N] [--dry-run] [--resume] [--json]\n"
    "       quantflow batch status BATCH.yaml [--json]\n\n"
    "Runs every job of the batch file (models x jobs, each a recipe) whose output is missing or\n"
    "out of date: its key (the hashes of its inputs, its expanded recipe and the plugins it uses)\n"
    "differs from the manifest's, or its output was deleted or altered. The manifest (one JSON file\n"
    "per batch) records every output with its sha256 and is updated as each job finishes.\n"
    "With --executor slurm the jobs are one sbatch --array submission. See docs/build-farm.md.";

void print_json(const json& event) { std::cout << event.dump(-1, ' ', false, kJsonInvalidUtf8) << std::endl; }

std::string self_path() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : self.string();
}

// The budget of each task when `parallel` run at once.
uint64_t task_budget(const batch::BatchFile& file, const BatchOptions& o, int parallel) {
  uint64_t total = file.memory_limit;
  if (!o.memory_limit.empty())
    if (auto parsed = core::parse_size(o.memory_limit); parsed.ok()) total = *parsed;
  if (total == 0) total = pipeline::default_memory_budget();
  return std::max<uint64_t>(1, total / static_cast<uint64_t>(std::max(1, parallel)));
}

struct Loaded {
  batch::BatchFile file;
  std::unique_ptr<core::Registry> registry;
  std::vector<batch::BatchTask> tasks;
};

Result<std::vector<pipeline::RecipeOverride>> overrides_of(const BatchOptions& o) {
  std::vector<pipeline::RecipeOverride> overrides;
  for (const auto& s : o.sets) {
    QF_ASSIGN_OR_RETURN(auto override_value, pipeline::parse_override(s));
    overrides.push_back(std::move(override_value));
  }
  return overrides;
}

Result<batch::BatchFile> load_file(const std::string& path, const BatchOptions& o) {
  QF_ASSIGN_OR_RETURN(const auto overrides, overrides_of(o));
  return batch::load_batch_file(path, overrides);
}

Result<Loaded> load(const std::string& path, const BatchOptions& o, const CommonOptions& common) {
  Loaded out;
  QF_ASSIGN_OR_RETURN(out.file, load_file(path, o));
  out.registry = common.load_registry();
  QF_ASSIGN_OR_RETURN(out.tasks, batch::expand_tasks(*out.registry, out.file));
  return out;
}

batch::Manifest manifest_of(const batch::BatchFile& file) {
  return batch::Manifest(file.manifest, (fs::path(file.state_dir()) / "manifest.lock").string());
}

void print_finished(const json& entry, bool as_json) {
  if (as_json) {
    print_json({{"event", "task"}, {"task", entry}});
    return;
  }
  if (entry.value("status", "") == "done")
    std::cout << fmt::format("done    {}  -> {} ({:.1f} s)\n", entry.value("id", ""), entry.value("output", ""),
                             entry.value("seconds", 0.0))
              << std::flush;
  else
    std::cout << fmt::format("FAILED  {}: {}\n", entry.value("id", ""), entry.value("error", "")) << std::flush;
}

int summarize(const std::vector<json>& finished, size_t up_to_date, bool as_json) {
  std::vector<const json*> failed;
  for (const auto& e : finished)
    if (e.value("status", "") != "done") failed.push_back(&e);
  if (as_json) {
    json failures = json::array();
    for (const auto* e : failed) failures.push_back({{"id", e->value("id", "")}, {"error", e->value("error", "")}});
    print_json({{"event", "summary"},
                {"ran", finished.size()},
                {"done", finished.size() - failed.size()},
                {"failed", failures},
                {"up_to_date", up_to_date}});
  } else {
    std::cout << fmt::format("batch: {} ran, {} done, {} failed, {} up to date\n", finished.size(),
                             finished.size() - failed.size(), failed.size(), up_to_date);
    for (const auto* e : failed)
      std::cerr << fmt::format("quantflow: error: {}: {}\n", e->value("id", ""), e->value("error", ""));
  }
  return failed.empty() ? kExitOk : kExitFailure;
}

// `--run-task N`: one task, in this process, recorded in the manifest (what a Slurm array task runs).
int run_one_task(const BatchOptions& o, const CommonOptions& common, const std::string& path) {
  auto loaded = load(path, o, common);
  if (!loaded.ok()) return report_error(loaded.status());
  if (o.run_task < 0 || static_cast<size_t>(o.run_task) >= loaded->tasks.size())
    return report_error(
        usage_error(fmt::format("--run-task {}: the batch has tasks 0 to {}", o.run_task, loaded->tasks.size() - 1)));
  const batch::BatchTask& task = loaded->tasks[static_cast<size_t>(o.run_task)];
  const batch::Manifest manifest = manifest_of(loaded->file);
  batch::HashCache hashes((fs::path(loaded->file.state_dir()) / "hashes.json").string());
  batch::TaskSettings settings{o.threads >= 0 ? o.threads : loaded->file.threads, task_budget(loaded->file, o, 1)};
  json extra = json::object();
  if (const char* job = std::getenv("SLURM_ARRAY_JOB_ID")) {
    extra["slurm_job"] = job;
    extra["slurm_task"] = task.index;
    extra["log"] = batch::slurm_log_path(loaded->file, job, task.index);
  }
  auto prepared = batch::prepare_task(*loaded->registry, task, settings, hashes);
  hashes.save();
  if (!prepared.ok()) {
    json entry = batch::failed_description(task, prepared.status());
    entry.update(extra);
    if (Status s = manifest.update([&](json& m) { batch::put_task(m, entry); }); !s.ok()) return report_error(s);
    return report_error(prepared.status());
  }
  auto entry = batch::run_task(*loaded->registry, *prepared, manifest, {extra.empty() ? "local" : "slurm", extra});
  if (!entry.ok()) return report_error(entry.status());
  if (entry->value("status", "") != "done") {
    std::cerr << "quantflow: error: " << task.id << ": " << entry->value("error", "") << "\n";
    return kExitFailure;
  }
  std::cout << fmt::format("done {} -> {}\n", task.id, task.output);
  return kExitOk;
}

int run_status(const BatchOptions& o, const CommonOptions&, const std::string& path) {
  auto file = load_file(path, o);
  if (!file.ok()) return report_error(file.status());
  auto manifest = manifest_of(*file).read();
  if (!manifest.ok()) return report_error(manifest.status());
  const auto lost = batch::lost_slurm_tasks(*file, *manifest);
  std::map<std::string, std::string> lost_reason(lost.begin(), lost.end());
  // A task may have recorded its result between the two reads: the manifest read last wins.
  if (!lost.empty()) manifest = manifest_of(*file).read();
  if (!manifest.ok()) return report_error(manifest.status());
  size_t failed = 0, pending = 0;
  json tasks = json::array();
  for (json entry : (*manifest)["tasks"]) {
    const std::string id = entry.value("id", "");
    const std::string recorded = entry.value("status", "");
    if (lost_reason.count(id) && (recorded == "submitted" || recorded == "running")) {
      entry["status"] = "lost";
      entry["error"] = lost_reason[id];
    }
    const std::string status = entry.value("status", "");
    failed += (status == "failed" || status == "lost") ? 1 : 0;
    pending += (status == "submitted" || status == "running") ? 1 : 0;
    tasks.push_back(entry);
  }
  if (o.json) {
    print_json({{"event", "status"}, {"manifest", file->manifest}, {"tasks", tasks}});
  } else {
    std::cout << fmt::format("manifest {}\n", file->manifest);
    for (const auto& e : tasks)
      std::cout << fmt::format("{:<10} {}  -> {}{}\n", e.value("status", ""), e.value("id", ""), e.value("output", ""),
                               e.contains("error") ? "  (" + e.value("error", "") + ")" : std::string());
    std::cout << fmt::format("{} tasks: {} failed, {} queued or running\n", tasks.size(), failed, pending);
  }
  return failed > 0 ? kExitFailure : kExitOk;
}

// The tasks to run: everything not up to date (with --resume, everything not done before).
struct Selection {
  std::vector<batch::PreparedTask> prepared;  // stable: pointers into it are handed out
  std::vector<const batch::PreparedTask*> to_run;
  std::vector<json> failed_to_plan;
  std::vector<std::pair<const batch::BatchTask*, std::string>> lines;  // for --dry-run: task, state
  size_t up_to_date = 0;
};

Result<Selection> select_tasks(const Loaded& loaded, const BatchOptions& o, const json& manifest, int parallel,
                               batch::HashCache& hashes) {
  Selection s;
  s.prepared.reserve(loaded.tasks.size());
  const batch::TaskSettings settings{o.threads >= 0 ? o.threads : loaded.file.threads,
                                     task_budget(loaded.file, o, parallel)};
  for (const auto& task : loaded.tasks) {
    const json* entry = batch::find_task(manifest, task.id);
    if (o.resume && entry != nullptr && entry->value("status", "") == "done" && !o.force) {
      ++s.up_to_date;
      s.lines.emplace_back(&task, "done earlier (--resume)");
      continue;
    }
    auto prepared = batch::prepare_task(*loaded.registry, task, settings, hashes);
    if (!prepared.ok()) {
      s.failed_to_plan.push_back(batch::failed_description(task, prepared.status()));
      s.lines.emplace_back(&task, "cannot run: " + prepared.status().to_string());
      continue;
    }
    for (const auto& warning : prepared->plan->warnings)
      std::cerr << fmt::format("quantflow: warning: {}: {}\n", task.id, warning);
    std::string why;
    if (!o.force && batch::up_to_date(*prepared, entry, why)) {
      ++s.up_to_date;
      s.lines.emplace_back(&task, fmt::format("up to date  {}", core::format_size(prepared->estimated_bytes)));
      continue;
    }
    s.lines.emplace_back(&task, fmt::format("will run ({})  ~{}, memory ~{}", o.force ? "--force" : why,
                                            core::format_size(prepared->estimated_bytes),
                                            core::format_size(prepared->estimated_memory)));
    s.prepared.push_back(std::move(prepared).value());
  }
  for (const auto& p : s.prepared) s.to_run.push_back(&p);
  return s;
}

void print_dry_run(const Selection& s, bool as_json) {
  for (const auto& [task, state] : s.lines) {
    if (as_json)
      print_json({{"event", "plan"}, {"id", task->id}, {"output", task->output}, {"state", state}});
    else
      std::cout << fmt::format("{}  -> {}  {}\n", task->id, task->output, state);
  }
  if (!as_json)
    std::cout << fmt::format("{} tasks: {} to run, {} up to date, {} cannot run\n", s.lines.size(), s.to_run.size(),
                             s.up_to_date, s.failed_to_plan.size());
}

}  // namespace

int run_batch(int argc, char** argv) {
  CommonOptions common;
  BatchOptions o;
  po::options_description options("options");
  options.add_options()("args", po::value(&o.positionals)->composing(), "BATCH.yaml, or status BATCH.yaml")(
      "set", po::value(&o.sets)->composing(),
      "override a batch file value: KEY=VALUE with a dotted KEY and a YAML VALUE, e.g. models=[a.gguf,b/] or "
      "output_dir=out (repeatable; relative paths are relative to the current directory)")(
      "executor", po::value(&o.executor), "where the jobs run: local (this machine) or slurm (one sbatch --array)")(
      "jobs,j", po::value(&o.jobs), "local executor: jobs at once (default: the batch file's parallel_jobs, else 1)")(
      "threads", po::value(&o.threads), "worker threads shared by the jobs (0: all cores; default: the batch file's)")(
      "memory-limit", po::value(&o.memory_limit),
      "budget for tensor data in flight, shared by the jobs running at once, e.g. 4G")(
      "dry-run,n", po::bool_switch(&o.dry_run),
      "print every job with its output, estimated size and whether it is up to date; run nothing")(
      "resume", po::bool_switch(&o.resume),
      "run only jobs the manifest does not record as done (failed, missing, lost), without re-hashing the others")(
      "force", po::bool_switch(&o.force), "run every job, up to date or not")(
      "json", po::bool_switch(&o.json), "one JSON object per line on stdout (plan, task, summary events)")(
      "no-wait", po::bool_switch(&o.no_wait), "slurm: return once the array is submitted (see batch status)")(
      "run-task", po::value(&o.run_task), "run task N of the batch in this process (what each Slurm array task runs)");
  common.add_to(options);
  po::positional_options_description positional;
  positional.add("args", -1);
  po::variables_map vm;
  int exit_code = 0;
  if (!parse_command_line(argc, argv, kUsage, options, positional, vm, exit_code)) return exit_code;
  const bool status = !o.positionals.empty() && o.positionals.front() == "status";
  if (o.positionals.size() != (status ? 2u : 1u))
    return report_error(usage_error("name one batch file (quantflow batch BATCH.yaml, or batch status BATCH.yaml)"));
  const std::string path = o.positionals.back();
  if (o.executor != "local" && o.executor != "slurm")
    return report_error(usage_error(fmt::format("--executor {}: expected local or slurm", o.executor)));
  if (o.threads > kMaxThreads || o.threads < -1)
    return report_error(usage_error(fmt::format("--threads must be 0 to {}", kMaxThreads)));
  if (!o.memory_limit.empty())
    if (auto parsed = core::parse_size(o.memory_limit); !parsed.ok()) return report_error(parsed.status());
  if (status) return run_status(o, common, path);
  if (vm.count("run-task")) return run_one_task(o, common, path);
  if (o.no_wait && o.executor != "slurm") return report_error(usage_error("--no-wait is for --executor slurm"));

  auto loaded = load(path, o, common);
  if (!loaded.ok()) return report_error(loaded.status());
  const batch::Manifest manifest = manifest_of(loaded->file);
  auto recorded = manifest.read();
  if (!recorded.ok()) return report_error(recorded.status());
  const int parallel = o.executor == "slurm" ? 1 : (o.jobs > 0 ? o.jobs : loaded->file.parallel_jobs);
  batch::HashCache hashes((fs::path(loaded->file.state_dir()) / "hashes.json").string());
  auto selection = select_tasks(*loaded, o, *recorded, parallel, hashes);
  if (!selection.ok()) return report_error(selection.status());
  if (o.dry_run) {
    print_dry_run(*selection, o.json);
    return kExitOk;
  }
  hashes.save();
  const json header = {{"batch", loaded->file.name},
                       {"batch_file", fs::absolute(loaded->file.file).lexically_normal().string()},
                       {"quantflow", QUANTFLOW_VERSION}};
  // A batch with nothing to do leaves the manifest as it is (its "updated" time included).
  const bool records = !selection->to_run.empty() || !selection->failed_to_plan.empty();
  if (Status s = !records ? Status() : manifest.update([&](json& m) {
        m.update(header);
        for (const auto& entry : selection->failed_to_plan) batch::put_task(m, entry);
      });
      !s.ok())
    return report_error(s);

  std::mutex print;
  std::vector<json> finished = selection->failed_to_plan;
  for (const auto& e : finished) print_finished(e, o.json);
  const auto on_finished = [&](const json& entry) {
    std::lock_guard lock(print);
    print_finished(entry, o.json);
  };
  if (selection->to_run.empty()) return summarize(finished, selection->up_to_date, o.json);

  if (o.executor == "local") {
    batch::LocalOptions local{parallel, o.threads >= 0 ? o.threads : loaded->file.threads, on_finished};
    auto entries = batch::run_local(*loaded->registry, selection->to_run, manifest, local);
    if (!entries.ok()) return report_error(entries.status());
    finished.insert(finished.end(), entries->begin(), entries->end());
    return summarize(finished, selection->up_to_date, o.json);
  }

  batch::SlurmRun run;
  run.quantflow = self_path();
  // Tasks run from another directory: paths on the command line are made absolute for them.
  for (const auto& dir : common.plugin_dirs)
    run.task_args.insert(run.task_args.end(), {"--plugin-dir", fs::absolute(dir).string()});
  for (const auto& set : o.sets) run.task_args.insert(run.task_args.end(), {"--set", set});
  if (o.threads >= 0) run.task_args.insert(run.task_args.end(), {"--threads", std::to_string(o.threads)});
  if (!o.memory_limit.empty()) run.task_args.insert(run.task_args.end(), {"--memory-limit", o.memory_limit});
  run.on_finished = on_finished;
  std::vector<const batch::BatchTask*> tasks;
  for (const auto* p : selection->to_run) tasks.push_back(p->task);
  auto job_id = batch::submit_to_slurm(loaded->file, tasks, manifest, run);
  if (!job_id.ok()) return report_error(job_id.status());
  if (o.json)
    print_json({{"event", "submitted"}, {"slurm_job", *job_id}, {"tasks", tasks.size()}});
  else
    std::cout << fmt::format("submitted {} tasks as Slurm job {}\n", tasks.size(), *job_id) << std::flush;
  if (o.no_wait) return kExitOk;
  auto entries = batch::follow_slurm(loaded->file, *job_id, tasks, manifest, run);
  if (!entries.ok()) return report_error(entries.status());
  finished.insert(finished.end(), entries->begin(), entries->end());
  return summarize(finished, selection->up_to_date, o.json);
}

}  // namespace quantflow::cli
