// Parsing the batch file with the recipe language's position-aware cursor.
#include "batch/batch_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "pipeline/recipe/recipe_yaml.hpp"
#include "pipeline/recipe/yaml_errors.hpp"

namespace quantflow::batch {

namespace {

namespace fs = std::filesystem;
using pipeline::recipe_error;
using pipeline::recipe_yaml::Cursor;

const std::vector<std::string> kTopKeys = {"name",    "output_dir",   "manifest",      "output",
                                           "models",  "jobs",         "exclude",       "overrides",
                                           "threads", "memory_limit", "parallel_jobs", "slurm"};
const std::vector<std::string> kModelKeys = {"name", "path"};
const std::vector<std::string> kJobKeys = {"name",   "recipe", "preset", "type",
                                           "output", "models", "set",    "shard_tasks"};
const std::vector<std::string> kOverrideKeys = {"model", "job", "set"};
const std::vector<std::string> kSlurmKeys = {"cpus", "memory", "time", "partition", "options", "max_parallel"};

template <typename T>
Marked<T> marked(const Cursor& at, T value) {
  return {std::move(value), at.mark()};
}

// A path from the file (relative to its folder) or from --set (relative to the current one).
Result<std::string> absolute_path(const Cursor& at, const std::string& path) {
  if (path.empty()) return recipe_error(at.mark(), fmt::format("'{}' must not be empty", at.path()));
  const bool folder = path.ends_with("/");
  std::error_code ec;
  const fs::path absolute = fs::absolute(at.resolve_path(path), ec);
  if (ec) return recipe_error(at.mark(), fmt::format("'{}': not a usable path: {}", at.path(), ec.message()));
  std::string out = absolute.lexically_normal().string();
  if (folder && !out.ends_with("/")) out += "/";
  if (!folder && out.size() > 1 && out.ends_with("/")) out.pop_back();
  return out;
}

// A name used in output paths: no separators, nothing that hides a file.
Status check_name(const Cursor& at, const std::string& name, const char* what) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == ".." || name.front() == '.')
    return recipe_error(at.mark(),
                        fmt::format("{} '{}' must be a plain name (no '/', not starting with '.')", what, name));
  return {};
}

Status parse_models(const Cursor& at, std::vector<BatchModel>& models) {
  QF_RETURN_IF_ERROR(at.require_sequence());
  for (size_t i = 0; i < at.node().size(); ++i) {
    const Cursor entry = at.element(i, at.node()[i]);
    BatchModel model;
    if (entry.node().IsScalar()) {
      QF_ASSIGN_OR_RETURN(std::string path, entry.as_string());
      QF_ASSIGN_OR_RETURN(std::string absolute, absolute_path(entry, path));
      model.path = {absolute, entry.mark()};
    } else {
      QF_RETURN_IF_ERROR(entry.require_map(kModelKeys));
      if (!entry.node()["path"]) return recipe_error(entry.mark(), "a model needs a 'path'");
      const Cursor path = entry.child("path", entry.node()["path"]);
      QF_ASSIGN_OR_RETURN(std::string text, path.as_string());
      QF_ASSIGN_OR_RETURN(std::string absolute, absolute_path(path, text));
      model.path = {absolute, path.mark()};
      if (const YAML::Node n = entry.node()["name"]) {
        const Cursor name = entry.child("name", n);
        QF_ASSIGN_OR_RETURN(std::string text_name, name.as_string());
        QF_RETURN_IF_ERROR(check_name(name, text_name, "model name"));
        model.name = marked(name, text_name);
      }
    }
    const fs::path path(model.path.value);
    std::error_code ec;
    if (model.name.value.empty()) {
      fs::path named = path.has_filename() ? path : path.parent_path();
      // A folder keeps its whole name; a file loses its extension (and .zst before it).
      std::string stem = named.filename().string();
      if (stem.size() > 4 && stem.ends_with(".zst")) stem.resize(stem.size() - 4);
      if (!model.path.value.ends_with("/") && fs::path(stem).has_extension() && !fs::is_directory(path, ec))
        stem = fs::path(stem).stem().string();
      if (stem.empty() || stem.front() == '.')
        return recipe_error(model.path.mark, fmt::format("cannot name the model at {} after its file: give it a 'name'",
                                                         model.path.value));
      model.name = {stem, model.path.mark};
    }
    for (const auto& other : models)
      if (other.name.value == model.name.value)
        return recipe_error(model.name.mark, fmt::format("model name '{}' is also the name of the model at {} (give "
                                                         "one of them a 'name')",
                                                         model.name.value, other.name.mark.to_string()));
    models.push_back(std::move(model));
  }
  if (models.empty()) return recipe_error(at.mark(), "'models' lists no model");
  return {};
}

Status parse_set(const Cursor& at, YAML::Node& set) {
  if (!at.node().IsMap())
    return recipe_error(at.mark(), fmt::format("'{}' must be a map of recipe KEY: VALUE (dotted keys), not {}",
                                               at.path(), pipeline::recipe_yaml::describe_kind(at.node())));
  for (auto it = at.node().begin(); it != at.node().end(); ++it) {
    const std::string key = it->first.Scalar();
    if (key == "inputs" || key == "output" || key == "output.path")
      return recipe_error(at.child(key, it->first).mark(),
                          fmt::format("'{}' is set by the batch (models and output names)", key));
  }
  set = at.node();
  return {};
}

// A job's recipe: a file, an inline map, or the shorthands `preset: NAME` and `type: NAME`.
Status parse_job_recipe(const Cursor& entry, BatchJob& job, std::string& default_name) {
  const YAML::Node& node = entry.node();
  const int given = (node["recipe"] ? 1 : 0) + (node["preset"] ? 1 : 0) + (node["type"] ? 1 : 0);
  if (given != 1)
    return recipe_error(entry.mark(),
                        "a job needs exactly one of 'recipe' (a file or an inline recipe), 'preset' "
                        "or 'type'");
  for (const char* shorthand : {"preset", "type"}) {
    if (!node[shorthand]) continue;
    const Cursor value = entry.child(shorthand, node[shorthand]);
    QF_ASSIGN_OR_RETURN(default_name, value.as_string());
    job.recipe = YAML::Node(YAML::NodeType::Map);
    job.recipe[std::string(shorthand) == "preset" ? "preset" : "default_type"] = node[shorthand];
    return {};
  }
  const Cursor recipe = entry.child("recipe", node["recipe"]);
  if (recipe.node().IsMap()) {
    // The output's settings (format, split, options) are the job's; its path is the batch's.
    const YAML::Node output = recipe.node()["output"];
    if (output && !(output.IsMap() && !output["path"]))
      return recipe_error(recipe.child("output", output).mark(),
                          "'output' is set by the batch (its output names); give the job's output settings as a map "
                          "without 'path'");
    if (recipe.node()["inputs"])
      return recipe_error(recipe.child("inputs", recipe.node()["inputs"]).mark(),
                          "'inputs' is set by the batch (its models)");
    job.recipe = recipe.node();
    if (const YAML::Node p = recipe.node()["preset"]; p && p.IsScalar()) default_name = p.Scalar();
    if (const YAML::Node t = recipe.node()["default_type"]; default_name.empty() && t && t.IsScalar())
      default_name = t.Scalar();
    return {};
  }
  QF_ASSIGN_OR_RETURN(std::string file, recipe.as_string());
  QF_ASSIGN_OR_RETURN(job.recipe_file, absolute_path(recipe, file));
  const fs::path path(job.recipe_file);
  std::error_code ec;
  if (!fs::is_regular_file(job.recipe_file, ec))
    return recipe_error(recipe.mark(), fmt::format("no recipe file {}", job.recipe_file));
  default_name = path.stem().string();
  return {};
}

Status parse_jobs(const Cursor& at, std::vector<BatchJob>& jobs) {
  QF_RETURN_IF_ERROR(at.require_sequence());
  for (size_t i = 0; i < at.node().size(); ++i) {
    const Cursor entry = at.element(i, at.node()[i]);
    QF_RETURN_IF_ERROR(entry.require_map(kJobKeys));
    BatchJob job;
    job.mark = entry.mark();
    std::string default_name;
    QF_RETURN_IF_ERROR(parse_job_recipe(entry, job, default_name));
    job.name = {default_name, entry.mark()};
    if (const YAML::Node n = entry.node()["name"]) {
      const Cursor name = entry.child("name", n);
      QF_ASSIGN_OR_RETURN(std::string text, name.as_string());
      job.name = marked(name, text);
    }
    QF_RETURN_IF_ERROR(check_name(entry, job.name.value, "job name"));
    for (const auto& other : jobs)
      if (other.name.value == job.name.value)
        return recipe_error(job.name.mark, fmt::format("job name '{}' is also the name of the job at {} (give one of "
                                                       "them a 'name')",
                                                       job.name.value, other.mark.to_string()));
    if (const YAML::Node n = entry.node()["output"]) {
      const Cursor output = entry.child("output", n);
      QF_ASSIGN_OR_RETURN(std::string text, output.as_string());
      job.output = marked(output, text);
    }
    if (const YAML::Node n = entry.node()["models"]) {
      const Cursor list = entry.child("models", n);
      QF_RETURN_IF_ERROR(list.require_sequence());
      for (size_t m = 0; m < n.size(); ++m) {
        const Cursor item = list.element(m, n[m]);
        QF_ASSIGN_OR_RETURN(std::string text, item.as_string());
        job.models.push_back(marked(item, text));
      }
    }
    if (const YAML::Node n = entry.node()["set"]) QF_RETURN_IF_ERROR(parse_set(entry.child("set", n), job.set));
    if (const YAML::Node n = entry.node()["shard_tasks"]) {
      QF_ASSIGN_OR_RETURN(job.shard_tasks, entry.child("shard_tasks", n).as_bool());
    }
    jobs.push_back(std::move(job));
  }
  if (jobs.empty()) return recipe_error(at.mark(), "'jobs' lists no job");
  return {};
}

Status parse_overrides(const Cursor& at, bool with_set, std::vector<BatchOverride>& out) {
  QF_RETURN_IF_ERROR(at.require_sequence());
  for (size_t i = 0; i < at.node().size(); ++i) {
    const Cursor entry = at.element(i, at.node()[i]);
    QF_RETURN_IF_ERROR(entry.require_map(with_set ? kOverrideKeys : std::vector<std::string>{"model", "job"}));
    BatchOverride o;
    o.mark = entry.mark();
    for (const char* key : {"model", "job"}) {
      if (const YAML::Node n = entry.node()[key]) {
        const Cursor c = entry.child(key, n);
        QF_ASSIGN_OR_RETURN(std::string text, c.as_string());
        (std::string(key) == "model" ? o.model : o.job) = marked(c, text);
      }
    }
    if (with_set) {
      if (!entry.node()["set"]) return recipe_error(entry.mark(), "an override needs 'set'");
      QF_RETURN_IF_ERROR(parse_set(entry.child("set", entry.node()["set"]), o.set));
    }
    out.push_back(std::move(o));
  }
  return {};
}

Status parse_slurm(const Cursor& at, SlurmSettings& slurm) {
  QF_RETURN_IF_ERROR(at.require_map(kSlurmKeys));
  const YAML::Node& node = at.node();
  if (node["cpus"]) {
    QF_ASSIGN_OR_RETURN(uint64_t cpus, at.child("cpus", node["cpus"]).as_unsigned());
    slurm.cpus = static_cast<int>(std::min<uint64_t>(cpus, 4096));
  }
  if (node["max_parallel"]) {
    QF_ASSIGN_OR_RETURN(uint64_t n, at.child("max_parallel", node["max_parallel"]).as_unsigned());
    slurm.max_parallel = static_cast<int>(std::min<uint64_t>(n, 1'000'000));
  }
  for (auto [key, field] :
       {std::pair{"memory", &slurm.memory}, std::pair{"time", &slurm.time}, std::pair{"partition", &slurm.partition}}) {
    if (!node[key]) continue;
    QF_ASSIGN_OR_RETURN(*field, at.child(key, node[key]).as_string());
  }
  if (node["options"]) {
    const Cursor list = at.child("options", node["options"]);
    QF_RETURN_IF_ERROR(list.require_sequence());
    for (size_t i = 0; i < list.node().size(); ++i) {
      const Cursor item = list.element(i, list.node()[i]);
      QF_ASSIGN_OR_RETURN(std::string option, item.as_string());
      if (!option.starts_with("--"))
        return recipe_error(item.mark(), fmt::format("'{}' is not an sbatch long option (--NAME=VALUE)", option));
      for (const char* owned : {"--array", "--output", "--error", "--parsable", "--wrap"})
        if (option == owned || option.starts_with(std::string(owned) + "="))
          return recipe_error(item.mark(), fmt::format("{} is set by quantflow batch", owned));
      slurm.options.push_back(option);
    }
  }
  return {};
}

Status parse_top(const Cursor& root, BatchFile& batch) {
  if (!root.node().IsMap())
    return recipe_error(root.mark(), fmt::format("the batch file must be a map, not {}",
                                                 pipeline::recipe_yaml::describe_kind(root.node())));
  QF_RETURN_IF_ERROR(root.require_map(kTopKeys));
  const YAML::Node& node = root.node();
  if (node["name"]) {
    const Cursor c = root.child("name", node["name"]);
    QF_ASSIGN_OR_RETURN(batch.name, c.as_string());
    QF_RETURN_IF_ERROR(check_name(c, batch.name, "batch name"));
  }
  if (node["output_dir"]) {
    const Cursor c = root.child("output_dir", node["output_dir"]);
    QF_ASSIGN_OR_RETURN(std::string dir, c.as_string());
    QF_ASSIGN_OR_RETURN(batch.output_dir, absolute_path(c, dir));
    if (batch.output_dir.size() > 1 && batch.output_dir.ends_with("/")) batch.output_dir.pop_back();
  }
  if (node["manifest"]) {
    const Cursor c = root.child("manifest", node["manifest"]);
    QF_ASSIGN_OR_RETURN(std::string manifest, c.as_string());
    QF_ASSIGN_OR_RETURN(batch.manifest, absolute_path(c, manifest));
  }
  if (node["output"]) {
    const Cursor c = root.child("output", node["output"]);
    QF_ASSIGN_OR_RETURN(std::string text, c.as_string());
    batch.output = marked(c, text);
  }
  if (!node["models"]) return recipe_error(root.mark(), "the batch file needs 'models'");
  if (!node["jobs"]) return recipe_error(root.mark(), "the batch file needs 'jobs'");
  QF_RETURN_IF_ERROR(parse_models(root.child("models", node["models"]), batch.models));
  QF_RETURN_IF_ERROR(parse_jobs(root.child("jobs", node["jobs"]), batch.jobs));
  if (node["exclude"])
    QF_RETURN_IF_ERROR(parse_overrides(root.child("exclude", node["exclude"]), false, batch.exclude));
  if (node["overrides"])
    QF_RETURN_IF_ERROR(parse_overrides(root.child("overrides", node["overrides"]), true, batch.overrides));
  if (node["threads"]) {
    QF_ASSIGN_OR_RETURN(uint64_t threads, root.child("threads", node["threads"]).as_unsigned());
    batch.threads = static_cast<int>(std::min<uint64_t>(threads, 4096));
  }
  if (node["memory_limit"]) {
    QF_ASSIGN_OR_RETURN(batch.memory_limit, root.child("memory_limit", node["memory_limit"]).as_size());
  }
  if (node["parallel_jobs"]) {
    const Cursor c = root.child("parallel_jobs", node["parallel_jobs"]);
    QF_ASSIGN_OR_RETURN(uint64_t n, c.as_unsigned());
    if (n == 0) return recipe_error(c.mark(), "'parallel_jobs' must be at least 1");
    batch.parallel_jobs = static_cast<int>(std::min<uint64_t>(n, 256));
  }
  if (node["slurm"]) QF_RETURN_IF_ERROR(parse_slurm(root.child("slurm", node["slurm"]), batch.slurm));
  return {};
}

}  // namespace

std::string BatchFile::state_dir() const {
  return (fs::path(output_dir) / fmt::format(".quantflow-batch-{}", name)).string();
}

Result<BatchFile> parse_batch_file(const std::string& text, const std::string& origin, const std::string& dir,
                                   const std::vector<pipeline::RecipeOverride>& overrides) {
  pipeline::recipe_yaml::Origins origins{origin, dir, overrides, "the batch file"};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return usage_error(
        fmt::format("{}:{}:{}: {}", origin, e.mark.line + 1, e.mark.column + 1, pipeline::yaml_error_message(e)));
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  QF_RETURN_IF_ERROR(pipeline::recipe_yaml::apply_overrides(root, overrides));
  BatchFile batch;
  batch.file = origin;
  batch.dir = fs::absolute(dir.empty() ? fs::path(".") : fs::path(dir)).lexically_normal().string();
  if (batch.dir.size() > 1 && batch.dir.ends_with("/")) batch.dir.pop_back();
  batch.name = fs::path(origin).stem().string();
  QF_RETURN_IF_ERROR(parse_top(Cursor(root, "", &origins), batch));
  if (batch.output_dir.empty()) batch.output_dir = batch.dir;
  if (batch.manifest.empty()) batch.manifest = (fs::path(batch.output_dir) / (batch.name + ".manifest.json")).string();
  return batch;
}

Result<BatchFile> load_batch_file(const std::string& path, const std::vector<pipeline::RecipeOverride>& overrides) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return usage_error("no such file").with_file(path);
  if (fs::is_directory(path, ec)) return bad_input("is a directory, not a batch file").with_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open the batch file").with_file(path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_batch_file(text.str(), path, fs::path(path).parent_path().string(), overrides);
}

}  // namespace quantflow::batch
