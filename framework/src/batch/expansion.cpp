// The matrix, the naming templates and the per-task recipe documents.
#include "batch/expansion.hpp"

#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "pipeline/recipe/tensor_rules.hpp"
#include "pipeline/recipe/yaml_errors.hpp"

namespace quantflow::batch {

namespace {

namespace fs = std::filesystem;
using pipeline::recipe_error;

// A shallow copy: the children are shared, the node itself is new.
YAML::Node shallow_copy(const YAML::Node& node) {
  if (node.IsMap()) {
    YAML::Node copy(YAML::NodeType::Map);
    for (auto it = node.begin(); it != node.end(); ++it) copy[it->first] = it->second;
    return copy;
  }
  if (node.IsSequence()) {
    YAML::Node copy(YAML::NodeType::Sequence);
    for (const auto& item : node) copy.push_back(item);
    return copy;
  }
  return node;
}

std::vector<std::string> split_dots(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

Result<std::string> render_output(const BatchFile& batch, const BatchModel& model, const BatchJob& job) {
  const Marked<std::string>& pattern = job.output.value.empty() ? batch.output : job.output;
  std::string out;
  const std::string& text = pattern.value;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') {
      out += text[i];
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string::npos)
      return recipe_error(pattern.mark, fmt::format("output name '{}' has a '{{' without '}}'", text));
    const std::string field = text.substr(i + 1, close - i - 1);
    if (field == "model")
      out += model.name.value;
    else if (field == "job")
      out += job.name.value;
    else if (field == "batch")
      out += batch.name;
    else
      return recipe_error(pattern.mark, fmt::format("output name '{}': unknown field {{{}}} (expected {{model}}, "
                                                    "{{job}} or {{batch}})",
                                                    text, field));
    i = close;
  }
  if (out.empty() || out == "/") return recipe_error(pattern.mark, "the output name is empty");
  const bool folder = out.ends_with("/");
  fs::path path(out);
  if (path.is_relative()) path = fs::path(batch.output_dir) / path;
  std::string resolved = path.lexically_normal().string();
  if (folder && !resolved.ends_with("/")) resolved += "/";
  return resolved;
}

std::string without_slash(std::string path) {
  while (path.size() > 1 && path.ends_with("/")) path.pop_back();
  return path;
}

bool selected(const BatchJob& job, const BatchModel& model) {
  if (job.models.empty()) return true;
  for (const auto& glob : job.models)
    if (pipeline::glob_matches(glob.value, model.name.value)) return true;
  return false;
}

bool excluded(const BatchFile& batch, const BatchModel& model, const BatchJob& job) {
  for (const auto& e : batch.exclude)
    if (pipeline::glob_matches(e.model.value, model.name.value) && pipeline::glob_matches(e.job.value, job.name.value))
      return true;
  return false;
}

Status apply_set(YAML::Node& root, const YAML::Node& set, const std::string& origin) {
  if (!set.IsMap()) return {};
  for (auto it = set.begin(); it != set.end(); ++it) {
    const YAML::Mark m = it->first.Mark();
    QF_RETURN_IF_ERROR(set_recipe_value(root, it->first.Scalar(), it->second, {origin, m.line + 1, m.column + 1}));
  }
  return {};
}

// The recipe document of one (model, job): the job's recipe, the model as input, the output.
Result<BatchTask> make_task(const BatchFile& batch, const BatchModel& model, const BatchJob& job) {
  BatchTask task;
  task.id = model.name.value + "/" + job.name.value;
  task.model = &model;
  task.job = &job;
  QF_ASSIGN_OR_RETURN(task.output, render_output(batch, model, job));
  YAML::Node source;
  if (job.recipe_file.empty()) {
    source = job.recipe;
    task.recipe_origin = batch.file;
    task.recipe_base_dir = batch.dir;
  } else {
    try {
      source = YAML::LoadFile(job.recipe_file);
    } catch (const YAML::Exception& e) {
      return usage_error(fmt::format("{}:{}:{}: {}", job.recipe_file, e.mark.line + 1, e.mark.column + 1,
                                     pipeline::yaml_error_message(e)));
    }
    if (!source.IsMap()) return usage_error(fmt::format("{}: a recipe must be a map", job.recipe_file));
    task.recipe_origin = job.recipe_file;
    task.recipe_base_dir = fs::path(job.recipe_file).parent_path().string();
  }
  task.recipe = shallow_copy(source);
  YAML::Node inputs(YAML::NodeType::Sequence);
  inputs.push_back(model.path.value);
  task.recipe["inputs"] = inputs;
  // Always the map form, so that `set: {output.split_size: ...}` has a map to go into.
  YAML::Node output = task.recipe["output"] && task.recipe["output"].IsMap() ? shallow_copy(task.recipe["output"])
                                                                             : YAML::Node(YAML::NodeType::Map);
  output["path"] = task.output;
  task.recipe["output"] = output;
  QF_RETURN_IF_ERROR(apply_set(task.recipe, job.set, batch.file));
  for (const auto& o : batch.overrides)
    if (pipeline::glob_matches(o.model.value, model.name.value) && pipeline::glob_matches(o.job.value, job.name.value))
      QF_RETURN_IF_ERROR(apply_set(task.recipe, o.set, batch.file));
  return task;
}

}  // namespace

Status set_recipe_value(YAML::Node& root, const std::string& dotted_key, const YAML::Node& value,
                        const SourceMark& mark) {
  const std::vector<std::string> keys = split_dots(dotted_key);
  for (const auto& k : keys)
    if (k.empty()) return recipe_error(mark, fmt::format("'{}' is not a dotted recipe key", dotted_key));
  // Copy on the way down: the nodes above the value may be shared with other tasks.
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node parent = chain.back();
    if (!parent.IsMap() && !parent.IsSequence() && !parent.IsNull())
      return recipe_error(
          mark, fmt::format("'{}': the recipe value '{}' is not a map", dotted_key, i == 0 ? dotted_key : keys[i - 1]));
    YAML::Node child;
    if (parent.IsSequence()) {
      size_t index = 0;
      if (fmt::format("{}", std::strtoull(keys[i].c_str(), nullptr, 10)) != keys[i] ||
          (index = std::strtoull(keys[i].c_str(), nullptr, 10)) >= parent.size())
        return recipe_error(mark, fmt::format("'{}': no element {} in the list", dotted_key, keys[i]));
      child = shallow_copy(parent[index]);
      parent[index] = child;
    } else {
      child = parent[keys[i]] ? shallow_copy(parent[keys[i]]) : YAML::Node(YAML::NodeType::Map);
      parent[keys[i]] = child;
    }
    chain.push_back(child);
  }
  YAML::Node last = chain.back();
  if (last.IsSequence()) {
    const size_t index = std::strtoull(keys.back().c_str(), nullptr, 10);
    if (fmt::format("{}", index) != keys.back() || index >= last.size())
      return recipe_error(mark, fmt::format("'{}': no element {} in the list", dotted_key, keys.back()));
    last[index] = value;
  } else if (last.IsMap() || last.IsNull()) {
    last[keys.back()] = value;
  } else {
    return recipe_error(mark, fmt::format("'{}': the recipe value above it is not a map", dotted_key));
  }
  return {};
}

Result<std::vector<BatchTask>> expand_batch(const BatchFile& batch) {
  std::vector<BatchTask> tasks;
  std::map<std::string, std::string> writers;  // output path -> task id
  for (const auto& model : batch.models) {
    for (const auto& job : batch.jobs) {
      if (!selected(job, model) || excluded(batch, model, job)) continue;
      Result<BatchTask> made = usage_error("");
      try {
        made = make_task(batch, model, job);
      } catch (const YAML::Exception& e) {  // a document yaml-cpp cannot index as written
        made = recipe_error(job.mark, pipeline::yaml_error_message(e));
      }
      QF_ASSIGN_OR_RETURN(BatchTask task, std::move(made));
      const std::string key = without_slash(task.output);
      const SourceMark& output_mark = job.output.value.empty() ? batch.output.mark : job.output.mark;
      for (const auto& m : batch.models)
        if (without_slash(m.path.value) == key)
          return recipe_error(output_mark, fmt::format("{} would write {}, which is the model '{}'", task.id,
                                                       task.output, m.name.value));
      if (auto [it, inserted] = writers.emplace(key, task.id); !inserted)
        return recipe_error(output_mark,
                            fmt::format("{} and {} would both write {} (put {{model}} and {{job}} in the output name)",
                                        it->second, task.id, task.output));
      task.index = tasks.size();
      tasks.push_back(std::move(task));
    }
  }
  if (tasks.empty()) return usage_error(fmt::format("{}: every job is excluded; nothing to do", batch.file));
  return tasks;
}

}  // namespace quantflow::batch
