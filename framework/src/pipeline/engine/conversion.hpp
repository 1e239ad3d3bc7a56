// A Conversion is everything one command will write, resolved before any byte moves: one
// Reader over every input, the plan, the output container and files, the importance weights
// and the execution settings. `convert` (engine/convert), `quantize` (llama/quantize) and
// `run` (recipe/recipe_plan) each build one; execute_conversion() is the only way out.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "pipeline/engine/executor.hpp"
#include "pipeline/engine/importance.hpp"
#include "pipeline/engine/plan.hpp"
#include "streams/compression.hpp"

namespace quantflow::pipeline {

// One file the conversion writes, with the part of the plan it holds and its own metadata.
struct OutputFile {
  std::string path;
  Plan plan;
};

struct Conversion {
  std::shared_ptr<const Reader> source;  // every input, as one Reader
  std::vector<std::string> input_paths;  // never written; errors reading tensors name the first
  Plan plan;                             // every output tensor, in output order
  const ContainerDescriptor* container = nullptr;
  std::vector<OutputFile> files;  // one entry unless the output is split
  std::string index_path;         // the split index the container keeps beside the files; empty: none
  std::string folder;             // a model folder being written (QfFolderLayout); empty: plain files
  std::shared_ptr<const ImportanceMatrix> importance;  // what the jobs' importance pointers point into
  ExecutionSettings settings;
  // Set by --compress or a recipe; otherwise each file is compressed when its name ends in .zst.
  streams::OutputCompression compression;
};

// Called from the writer stage, in order, with counts over every file of the conversion.
struct ExecutionHooks {
  std::function<void(const Progress&)> on_progress;
  // When set, every re-encoded tensor is decoded again and measured; entry i describes
  // conversion.plan.jobs[i]. Costs one extra decode per tensor.
  std::vector<TensorStats>* stats = nullptr;
  // When set, entry i says how conversion.plan.jobs[i] was re-encoded (direct_summary()).
  std::vector<TranscodeRoute>* routes = nullptr;
  // When set, receives the names of the files carried from the input folder (carried_summary()).
  std::vector<std::string>* carried = nullptr;
  // When set, only this file of a split output is written, as one task of a cluster job
  // (batch's shard_tasks): file 0 also takes the split index, carried files and companions.
  std::optional<size_t> only_file;
};

// Makes `conversion.files` a single file at `path` holding the whole plan. When the container
// writes model folders and `path` names a folder, the file is the folder's weights file.
void write_to_one_file(Conversion& conversion, const std::string& path);

// Where the (first) weights file of an output `path` goes: `path` itself, or inside it when
// the container writes model folders and `path` names a folder (then conversion.folder is set).
std::string weights_path(Conversion& conversion, const std::string& path);

// Whether `path` names a folder rather than a file: an existing directory or a trailing '/'.
bool names_a_folder(const std::string& path);

// Writes every file of `conversion` (each atomically), then its split index; a folder output
// then gets the files carried from its input folder (engine/carried_files) and last its
// companions.
Status execute_conversion(const core::Registry& registry, const Conversion& conversion,
                          const ExecutionHooks& hooks = {});

}  // namespace quantflow::pipeline
