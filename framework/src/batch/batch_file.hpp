// The batch file: models, jobs (each a recipe), the matrix between them, output names,
// per-job settings and the Slurm resources. Parsing keeps every value's position so that each
// error reads `FILE:LINE:COLUMN: message`; nothing is opened or planned here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "pipeline/recipe/recipe.hpp"
#include "quantflow/status.hpp"

namespace quantflow::batch {

using pipeline::Marked;
using pipeline::SourceMark;

struct BatchModel {
  Marked<std::string> name;  // {model} in output names; default: the file or folder name without extension
  Marked<std::string> path;  // absolute
};

// What a job makes of each model: a recipe without `inputs` and `output` (the batch fills them in).
struct BatchJob {
  Marked<std::string> name;  // {job} in output names
  SourceMark mark;
  std::string recipe_file;                  // absolute path of a recipe file; empty: `recipe` is inline
  YAML::Node recipe;                        // the inline recipe (preset: / type: shorthands folded in)
  Marked<std::string> output;               // naming template; empty: the batch's
  std::vector<Marked<std::string>> models;  // globs over model names; empty: every model
  YAML::Node set;                           // dotted KEY: VALUE applied to the recipe
  bool shard_tasks = false;                 // one task per output shard (a split output)
};

// Per-job recipe values for the jobs whose model and job names match the globs.
struct BatchOverride {
  SourceMark mark;
  Marked<std::string> model = {"*", {}};
  Marked<std::string> job = {"*", {}};
  YAML::Node set;  // dotted KEY: VALUE
};

struct SlurmSettings {
  int cpus = 0;                      // --cpus-per-task; 0: the batch's threads, else 1
  std::string memory;                // --mem, e.g. 8G; empty: from the memory budget
  std::string time;                  // --time
  std::string partition;             // --partition
  std::vector<std::string> options;  // further sbatch options, as written
  int max_parallel = 0;              // %N on --array; 0: no limit
};

struct BatchFile {
  std::string file;        // as named on the command line
  std::string dir;         // absolute: relative paths in the file resolve against it
  std::string name;        // default: the file name without extension
  std::string output_dir;  // absolute; default: the batch file's folder
  std::string manifest;    // absolute; default: OUTPUT_DIR/NAME.manifest.json
  Marked<std::string> output = {"{model}-{job}.gguf", {}};
  std::vector<BatchModel> models;
  std::vector<BatchJob> jobs;
  std::vector<BatchOverride> exclude;  // set is unused
  std::vector<BatchOverride> overrides;
  int threads = 0;            // 0: all cores
  uint64_t memory_limit = 0;  // 0: the default budget
  int parallel_jobs = 1;      // local executor: jobs at once
  SlurmSettings slurm;
  // The folder of the batch's working files (Slurm script and logs, hash cache, locks).
  std::string state_dir() const;
};

// `overrides` are `--set KEY=VALUE`, applied to the document before it is read (as for recipes);
// relative paths they give are relative to the current directory.
Result<BatchFile> load_batch_file(const std::string& path, const std::vector<pipeline::RecipeOverride>& overrides = {});
Result<BatchFile> parse_batch_file(const std::string& text, const std::string& origin, const std::string& dir,
                                   const std::vector<pipeline::RecipeOverride>& overrides = {});

}  // namespace quantflow::batch
