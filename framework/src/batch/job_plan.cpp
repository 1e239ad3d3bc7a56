// Planning tasks through the recipe planner, and what goes into a task's key.
#include "batch/job_plan.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/engine/output_files.hpp"
#include "pipeline/llama/preset.hpp"

namespace quantflow::batch {

namespace {

namespace fs = std::filesystem;

// The files a model path stands for: a folder, a split GGUF's shards, a safetensors index's shards.
std::vector<std::string> model_files(const std::string& path) {
  std::vector<std::string> files{path};
  std::error_code ec;
  if (fs::is_directory(path, ec)) return files;
  const fs::path p(path);
  const std::string name = p.filename().string();
  static const std::regex shard(R"((.*)-(\d{5})-of-(\d{5})(\..*))");
  std::smatch m;
  if (std::regex_match(name, m, shard)) {
    files.clear();
    const int count = std::stoi(m[3].str());
    for (int i = 1; i <= count; ++i)
      files.push_back(
          (p.parent_path() / fmt::format("{}-{:05}-of-{}{}", m[1].str(), i, m[3].str(), m[4].str())).string());
    return files;
  }
  if (name.ends_with(".index.json")) {
    std::ifstream in(path);
    const nlohmann::json index = nlohmann::json::parse(in, nullptr, false);
    std::set<std::string> shards;
    if (index.is_object() && index.contains("weight_map") && index["weight_map"].is_object())
      for (const auto& [tensor, file] : index["weight_map"].items())
        if (file.is_string()) shards.insert((p.parent_path() / file.get<std::string>()).string());
    files.insert(files.end(), shards.begin(), shards.end());
  }
  return files;
}

std::string emit_yaml(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return out.c_str();
}

std::vector<PluginUse> plugins_used(const core::Registry& registry, const pipeline::Conversion& conversion) {
  std::set<std::string> codecs;
  for (const auto& job : conversion.plan.jobs) {
    codecs.insert(job.source.dtype.name);
    codecs.insert(job.target.dtype.name);
  }
  std::vector<PluginUse> used;
  for (const auto& plugin : registry.plugins()) {
    // Every container (an input may be read by any of them) and transcoder; the codecs in use.
    bool uses = !plugin.containers.empty() || !plugin.transcoders.empty();
    for (const auto& c : plugin.codecs) uses = uses || codecs.count(c) > 0;
    if (uses) used.push_back({plugin.name, plugin.version});
  }
  std::sort(used.begin(), used.end(), [](const PluginUse& a, const PluginUse& b) { return a.name < b.name; });
  return used;
}

}  // namespace

Result<std::shared_ptr<pipeline::RecipePlan>> plan_task_recipe(const core::Registry& registry, const BatchTask& task) {
  QF_ASSIGN_OR_RETURN(pipeline::Recipe recipe,
                      pipeline::parse_recipe_node(task.recipe, task.recipe_origin, task.recipe_base_dir));
  QF_ASSIGN_OR_RETURN(pipeline::RecipePlan plan, pipeline::plan_recipe(registry, recipe));
  // Every output would need its own report and README.md: a batch writes models only.
  if (!plan.report_path.empty() || plan.model_card)
    return usage_error(
        fmt::format("{}: output.report and output.model_card are not written by quantflow batch (run "
                    "the recipe with quantflow run)",
                    task.id));
  return std::make_shared<pipeline::RecipePlan>(std::move(plan));
}

Result<PreparedTask> prepare_task(const core::Registry& registry, const BatchTask& task, const TaskSettings& settings,
                                  HashCache& hashes) {
  PreparedTask out;
  out.task = &task;
  QF_ASSIGN_OR_RETURN(out.plan, plan_task_recipe(registry, task));
  out.plan->settings.threads = settings.threads;
  if (settings.memory_budget > 0) out.plan->settings.memory_budget = settings.memory_budget;
  out.recipe_text = emit_yaml(task.recipe);
  for (const auto& file : model_files(task.model->path.value)) {
    QF_ASSIGN_OR_RETURN(std::string sha, hashes.hash(file));
    out.inputs.push_back({"model", file, sha});
  }
  if (const YAML::Node imatrix = task.recipe["imatrix"]; imatrix && imatrix.IsScalar()) {
    fs::path path(imatrix.Scalar());
    if (path.is_relative()) path = fs::path(task.recipe_base_dir) / path;
    QF_ASSIGN_OR_RETURN(std::string sha, hashes.hash(path.string()));
    out.inputs.push_back({"imatrix", path.string(), sha});
  }
  if (const YAML::Node preset = task.recipe["preset"]; preset && preset.IsScalar()) {
    QF_ASSIGN_OR_RETURN(const pipeline::Preset loaded, pipeline::load_preset(preset.Scalar()));
    if (!loaded.source_path.empty()) {
      QF_ASSIGN_OR_RETURN(std::string sha, hashes.hash(loaded.source_path));
      out.inputs.push_back({"preset", loaded.source_path, sha});
    }
  }
  out.plugins = plugins_used(registry, *out.plan);
  QF_ASSIGN_OR_RETURN(const pipeline::OutputEstimate estimate, pipeline::estimate_output(registry, *out.plan));
  out.estimated_bytes = estimate.file_bytes;
  if (task.shard) out.estimated_bytes = estimate.files.at(*task.shard).second;
  out.estimated_memory = estimate.memory_bytes;

  std::string keyed =
      fmt::format("quantflow-batch-key 1\nquantflow {}\nrecipe:\n{}\n", QUANTFLOW_VERSION, out.recipe_text);
  for (const auto& f : out.inputs) keyed += fmt::format("input {} {} {}\n", f.role, f.path, f.sha256);
  for (const auto& p : out.plugins) keyed += fmt::format("plugin {} {}\n", p.name, p.version);
  if (task.shard) keyed += fmt::format("shard {} of {}\n", *task.shard, task.shards);
  out.key = sha256_hex(keyed);
  return out;
}

Result<std::vector<BatchTask>> expand_tasks(const core::Registry& registry, const BatchFile& batch) {
  QF_ASSIGN_OR_RETURN(std::vector<BatchTask> jobs, expand_batch(batch));
  std::vector<BatchTask> tasks;
  for (auto& job : jobs) {
    if (!job.job->shard_tasks) {
      tasks.push_back(std::move(job));
      continue;
    }
    QF_ASSIGN_OR_RETURN(const auto plan, plan_task_recipe(registry, job));
    if (!plan->index_path.empty() || !plan->folder.empty())
      return pipeline::recipe_error(job.job->mark,
                                    fmt::format("{}: shard_tasks needs an output whose shards stand alone (a split "
                                                "GGUF); this output has an index or is a folder",
                                                job.id));
    if (plan->files.size() < 2)
      return pipeline::recipe_error(job.job->mark, fmt::format("{}: shard_tasks needs a split output (set "
                                                               "output.split_size or output.split_max_tensors)",
                                                               job.id));
    for (size_t s = 0; s < plan->files.size(); ++s) {
      BatchTask shard = job;
      shard.id = fmt::format("{}#{}", job.id, s + 1);
      shard.shard = s;
      shard.shards = plan->files.size();
      shard.output = plan->files[s].path;
      tasks.push_back(std::move(shard));
    }
  }
  for (size_t i = 0; i < tasks.size(); ++i) tasks[i].index = i;
  return tasks;
}

std::vector<std::string> output_files_of(const PreparedTask& prepared) {
  const pipeline::RecipePlan& plan = *prepared.plan;
  if (prepared.task->shard) return {plan.files.at(*prepared.task->shard).path};
  std::vector<std::string> files;
  if (!plan.folder.empty()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(plan.folder, ec))
      if (entry.is_regular_file(ec) && !entry.path().filename().string().starts_with("."))
        files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    return files;
  }
  for (const auto& file : plan.files) files.push_back(file.path);
  if (!plan.index_path.empty()) files.push_back(plan.index_path);
  return files;
}

}  // namespace quantflow::batch
