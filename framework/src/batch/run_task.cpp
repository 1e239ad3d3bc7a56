// Executing one task: lock, run, hash, record.
#include "batch/run_task.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "batch/output_lock.hpp"
#include "pipeline/engine/conversion.hpp"

namespace quantflow::batch {

namespace {

namespace fs = std::filesystem;

int64_t mtime_ns_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

uint64_t peak_rss_bytes() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

Result<nlohmann::json> describe_outputs(const PreparedTask& prepared) {
  nlohmann::json outputs = nlohmann::json::array();
  for (const auto& path : output_files_of(prepared)) {
    QF_ASSIGN_OR_RETURN(std::string sha, sha256_of_file(path));
    std::error_code ec;
    outputs.push_back(
        {{"path", path}, {"bytes", fs::file_size(path, ec)}, {"sha256", sha}, {"mtime_ns", mtime_ns_of(path)}});
  }
  return outputs;
}

}  // namespace

nlohmann::json task_description(const PreparedTask& prepared) {
  const BatchTask& task = *prepared.task;
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& f : prepared.inputs) inputs.push_back({{"role", f.role}, {"path", f.path}, {"sha256", f.sha256}});
  nlohmann::json plugins = nlohmann::json::array();
  for (const auto& p : prepared.plugins) plugins.push_back({{"name", p.name}, {"version", p.version}});
  nlohmann::json entry = {{"id", task.id},
                          {"index", task.index},
                          {"model", task.model->name.value},
                          {"job", task.job->name.value},
                          {"output", task.output},
                          {"key", prepared.key},
                          {"inputs", inputs},
                          {"recipe", prepared.recipe_text},
                          {"plugins", plugins},
                          {"estimated_bytes", prepared.estimated_bytes},
                          {"estimated_memory_bytes", prepared.estimated_memory}};
  if (task.shard) entry["shard"] = {{"index", *task.shard + 1}, {"count", task.shards}};
  return entry;
}

nlohmann::json failed_description(const BatchTask& task, const Status& error) {
  return {
      {"id", task.id},         {"index", task.index}, {"model", task.model->name.value}, {"job", task.job->name.value},
      {"output", task.output}, {"status", "failed"},  {"error", error.to_string()},      {"finished", utc_timestamp()}};
}

bool up_to_date(const PreparedTask& prepared, const nlohmann::json* entry, std::string& why) {
  if (entry == nullptr) {
    why = "new";
    return false;
  }
  if (const std::string status = entry->value("status", ""); status != "done") {
    why = status == "failed" ? "last run failed" : "last run did not finish";
    return false;
  }
  if (entry->value("key", "") != prepared.key) {
    why = "inputs, recipe or plugins changed";
    return false;
  }
  if (!entry->contains("outputs") || (*entry)["outputs"].empty()) {
    why = "no output recorded";
    return false;
  }
  for (const auto& out : (*entry)["outputs"]) {
    const std::string path = out.value("path", "");
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      why = "output missing: " + path;
      return false;
    }
    if (fs::file_size(path, ec) != out.value("bytes", uint64_t{0})) {
      why = "output altered: " + path;
      return false;
    }
    // Same size and time: unchanged. A new time gets a full hash before it is believed.
    if (mtime_ns_of(path) != out.value("mtime_ns", int64_t{-2})) {
      auto sha = sha256_of_file(path);
      if (!sha.ok() || *sha != out.value("sha256", "")) {
        why = "output altered: " + path;
        return false;
      }
    }
  }
  why = "up to date";
  return true;
}

Result<nlohmann::json> run_task(const core::Registry& registry, const PreparedTask& prepared, const Manifest& manifest,
                                const RunContext& context) {
  nlohmann::json entry = task_description(prepared);
  entry["executor"] = context.executor;
  if (context.extra.is_object()) entry.update(context.extra);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  entry["host"] = host;
  const auto finish = [&](Status status, double seconds) -> Result<nlohmann::json> {
    entry["seconds"] = std::round(seconds * 1000) / 1000;
    entry["peak_rss_bytes"] = peak_rss_bytes();
    entry["finished"] = utc_timestamp();
    if (status.ok()) {
      auto outputs = describe_outputs(prepared);
      if (outputs.ok()) {
        entry["status"] = "done";
        entry["outputs"] = std::move(outputs).value();
      } else {
        status = outputs.take_status();
      }
    }
    if (!status.ok()) {
      entry["status"] = "failed";
      entry["error"] = status.to_string();
      entry.erase("outputs");
    }
    QF_RETURN_IF_ERROR(manifest.update([&](nlohmann::json& m) { put_task(m, entry); }));
    return entry;
  };
  // A shard task's output is its own file, so the shards of one job lock apart.
  const std::string& output = prepared.task->output;
  std::error_code ec;
  fs::create_directories(fs::path(output).parent_path(), ec);  // a folder the batch names
  auto lock = OutputLock::acquire(output);
  if (!lock.ok()) return finish(lock.take_status(), 0);
  entry["status"] = "running";
  entry["started"] = utc_timestamp();
  QF_RETURN_IF_ERROR(manifest.update([&](nlohmann::json& m) { put_task(m, entry); }));
  const auto start = std::chrono::steady_clock::now();
  pipeline::ExecutionHooks hooks;
  hooks.only_file = prepared.task->shard;
  Status status;
  try {
    status = pipeline::execute_conversion(registry, *prepared.plan, hooks);
  } catch (const std::bad_alloc&) {
    status = io_error("out of memory");
  } catch (const std::exception& e) {
    status = internal_error(e.what());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return finish(std::move(status), seconds);
}

}  // namespace quantflow::batch
