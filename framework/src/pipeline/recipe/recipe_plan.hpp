// Turns a parsed recipe into a Plan: validate, open inputs, rename, apply metadata edits,
// resolve every tensor's encoding (rules, preset, defaults, fallback), split into shards.
// Nothing is written here; the result prints as a dry run or goes to execute_recipe().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "pipeline/engine/executor.hpp"
#include "pipeline/engine/plan.hpp"
#include "pipeline/recipe/recipe.hpp"
#include "pipeline/recipe/recipe_source.hpp"

namespace quantflow::pipeline {

struct SkippedTensor {
  std::string name;
  std::string reason;
};

// One output file: its path and the part of the plan it holds (with its own metadata).
struct PlannedShard {
  std::string path;
  Plan plan;
};

struct RecipePlan {
  std::unique_ptr<RecipeSource> source;
  Plan plan;  // every output tensor, in output order
  std::vector<SkippedTensor> skipped;
  std::vector<std::string> warnings;  // one line each, positions included
  const ContainerDescriptor* container = nullptr;
  std::vector<PlannedShard> shards;  // a single entry for an unsplit output
  std::string index_path;            // the shard index the container keeps beside shards; empty: none
  std::string imatrix;
  int threads = 0;
  uint64_t memory_budget = 0;  // 0: default_memory_budget()
  std::string report_path;     // JSON report with per-tensor round-trip errors; empty: none
  bool model_card = false;     // README.md beside the output
  std::string quantization;    // the preset or default_type, for the model card
};

// Structural and registry checks that need no input file: encodings, regexes, output
// container and paths. Warnings are appended.
Status validate_recipe(const core::Registry& registry, const Recipe& recipe, std::vector<std::string>& warnings);

Result<RecipePlan> plan_recipe(const core::Registry& registry, const Recipe& recipe);

struct OutputEstimate {
  uint64_t file_bytes = 0;                                      // every output file, headers and padding included
  uint64_t tensor_bytes = 0;                                    // tensor data only
  uint64_t memory_bytes = 0;                                    // peak tensor data in flight while running
  std::map<std::string, std::pair<size_t, uint64_t>> per_type;  // encoding -> (tensors, bytes)
  std::vector<std::pair<std::string, uint64_t>> files;          // path -> bytes
};

// Exact sizes, obtained by running each shard's writer against a counting sink.
Result<OutputEstimate> estimate_output(const core::Registry& registry, const RecipePlan& plan);

// Writes every shard (each atomically) and the shard index. Progress counts over all shards.
// With `stats`, every re-encoded tensor is measured; entry i describes plan.plan.jobs[i].
Status execute_recipe(const core::Registry& registry, const RecipePlan& plan,
                      const std::function<void(const Progress&)>& on_progress,
                      std::vector<TensorStats>* stats = nullptr);

}  // namespace quantflow::pipeline
