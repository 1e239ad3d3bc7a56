// One task planned: its recipe parsed and planned into a Conversion, the files it reads (with
// their hashes), the plugins it uses, its estimated output size and memory, and its key: the
// SHA-256 of all of that, which says whether an earlier output is still up to date.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "batch/content_hash.hpp"
#include "batch/expansion.hpp"
#include "core/registry.hpp"
#include "pipeline/recipe/recipe_plan.hpp"

namespace quantflow::batch {

struct HashedFile {
  std::string role;  // model, imatrix, preset
  std::string path;
  std::string sha256;
};

struct PluginUse {
  std::string name, version;
};

struct PreparedTask {
  const BatchTask* task = nullptr;
  std::shared_ptr<pipeline::RecipePlan> plan;
  std::string recipe_text;  // the expanded recipe, as YAML
  std::vector<HashedFile> inputs;
  std::vector<PluginUse> plugins;
  std::string key;
  uint64_t estimated_bytes = 0;   // the files this task writes
  uint64_t estimated_memory = 0;  // tensor data in flight under its budget
};

struct TaskSettings {
  int threads = 0;             // 0: all cores
  uint64_t memory_budget = 0;  // this task's share of the batch's budget; 0: default
};

// The recipe of `task` parsed and planned; errors name the recipe's (or batch file's) positions.
Result<std::shared_ptr<pipeline::RecipePlan>> plan_task_recipe(const core::Registry& registry, const BatchTask& task);

// Plans, hashes and estimates one task. Inputs are hashed through `hashes`.
Result<PreparedTask> prepare_task(const core::Registry& registry, const BatchTask& task, const TaskSettings& settings,
                                  HashCache& hashes);

// expand_batch(), then each job with `shard_tasks` planned and turned into one task per shard.
Result<std::vector<BatchTask>> expand_tasks(const core::Registry& registry, const BatchFile& batch);

// The files an output consists of: the task's shard, or every file of the output (a folder's
// files, a split's shards and index).
std::vector<std::string> output_files_of(const PreparedTask& prepared);

}  // namespace quantflow::batch
