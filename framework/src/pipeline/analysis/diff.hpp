// `quantflow diff`: what differs between two model files, metadata key by key and tensor
// by tensor, streaming one pair of tensors at a time.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "pipeline/analysis/read_progress.hpp"
#include "quantflow/metadata.hpp"
#include "quantflow/status.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow::pipeline {

enum class Presence { only_in_a, only_in_b, in_both };

struct MetadataDifference {
  std::string key;
  Presence presence = Presence::in_both;
  const MetaValue* a = nullptr;  // null when only B has the key; points into the reader
  const MetaValue* b = nullptr;
  bool type_differs = false;
  std::optional<size_t> first_differing_index;  // arrays of one type: where they first differ
};

struct TensorDifference {
  std::string name;
  Presence presence = Presence::in_both;
  const TensorInfo* a = nullptr;
  const TensorInfo* b = nullptr;
  bool dtype_differs = false;
  bool shape_differs = false;
  bool bytes_differ = false;  // same dtype and shape, different bytes
  std::optional<uint64_t> first_differing_byte;
  std::optional<double> max_abs_error;  // decoded values, when measured
  std::optional<double> rel_rmse;
  std::string note;  // why a requested measurement was not made
};

struct DiffOptions {
  bool measure_error = false;        // also measure decoded error when the bytes differ in one dtype
  ReadProgressCallback on_progress;  // when set, hears of every tensor of A as it is compared
};

struct ModelDiff {
  std::unique_ptr<Reader> a, b;  // the differences point into these
  std::optional<std::string> container_difference;
  std::vector<MetadataDifference> metadata;
  std::vector<TensorDifference> tensors;

  bool identical() const { return !container_difference && metadata.empty() && tensors.empty(); }
};

Result<ModelDiff> diff_models(const core::Registry& registry, const std::string& path_a, const std::string& path_b,
                              const DiffOptions& options);

}  // namespace quantflow::pipeline
