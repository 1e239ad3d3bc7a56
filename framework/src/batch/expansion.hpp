// From the batch file to concrete tasks: the matrix of models and jobs (minus exclusions), each
// with its recipe document (inputs and output filled in, overrides applied) and its output path.
// A job with `shard_tasks` becomes one task per output shard once planned (job_plan).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "batch/batch_file.hpp"

namespace quantflow::batch {

struct BatchTask {
  std::string id;    // MODEL/JOB, or MODEL/JOB#SHARD for one shard of a split output
  size_t index = 0;  // position in the batch's task list: the Slurm array index
  const BatchModel* model = nullptr;
  const BatchJob* job = nullptr;
  std::string output;           // absolute; a trailing '/' names a model folder; a shard task's own file
  YAML::Node recipe;            // the whole recipe document
  std::string recipe_origin;    // the file positions in `recipe` refer to
  std::string recipe_base_dir;  // relative paths in `recipe` resolve against it
  std::optional<size_t> shard;  // set: this task writes only that file of the split output
  size_t shards = 1;
};

// Every (model, job) pair the batch asks for, in model order then job order. Two tasks that
// would write one path, or an output that is one of the models, are refused here.
Result<std::vector<BatchTask>> expand_batch(const BatchFile& batch);

// The recipe document of a task: a copy that may be changed without touching the job's.
// `keys` is a dotted path (numbers index lists), as `set:` and `--set` write it.
Status set_recipe_value(YAML::Node& root, const std::string& dotted_key, const YAML::Node& value,
                        const SourceMark& mark);

}  // namespace quantflow::batch
