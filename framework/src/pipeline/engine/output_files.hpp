// The files a conversion writes: one, or split files of at most a given amount of tensor data
// or number of tensors, following the output container's declared convention
// (QfSplitConvention); and their exact sizes, measured by running the container's writer
// against a counting sink.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/engine/conversion.hpp"

namespace quantflow::pipeline {

// Removes the keys with which the container describes a split: an input's own split must
// not leak into an output that is split differently, or not at all.
void drop_split_keys(const ContainerDescriptor& container, Metadata& metadata);

// When an output is split, as llama-gguf-split splits: a file closes before the next tensor
// would take it over `max_bytes` of tensor data (each tensor counted padded to 32 bytes, as
// llama-gguf-split counts it) or over `max_tensors` tensors; a tensor larger than `max_bytes`
// gets a file of its own. 0: no such limit; both 0: one file.
struct SplitLimits {
  uint64_t max_bytes = 0;
  uint64_t max_tensors = 0;
  bool splits() const { return max_bytes > 0 || max_tensors > 0; }
};

// A split size as llama-gguf-split reads it: "512M" is 512 * 10^6 bytes, "2G" 2 * 10^9 (K and T
// likewise, "MB" and "GB" too); "512MiB", "2GiB" are powers of 1024; a plain number is bytes.
Result<uint64_t> parse_split_size(std::string_view text);

// The tensors (indices into plan.jobs) of each file under `limits`, in output order.
std::vector<std::vector<size_t>> pack_split_files(const Plan& plan, const SplitLimits& limits);

// Fills conversion.files (and index_path) from conversion.plan: one file at `path` when
// `limits` split nothing, else the files pack_split_files() gives. Keys describing an input's
// own split are dropped either way. Fails when a split is asked of a container that declares
// no split convention.
Status plan_output_files(Conversion& conversion, const std::string& path, const SplitLimits& limits);

// The same with the files given: `groups` are consecutive runs of conversion.plan's jobs, one
// per file (llama-quantize --keep-split keeps an input's own shards). Every file is named and
// tagged by the container's split convention, even a single one.
Status plan_split_files(Conversion& conversion, const std::string& path,
                        const std::vector<std::vector<size_t>>& groups);

// Declares each output file to its writer (against a counting sink, nothing is written), so
// that a tensor or encoding the container cannot hold is refused while planning, with the
// writer's own message, rather than when the conversion starts writing.
Status check_writer_accepts(const core::Registry& registry, const Conversion& conversion);

// The text of the split index the container keeps beside its files ("" when it keeps none).
std::string split_index_text(const Conversion& conversion, const CodecCatalog& catalog);

struct OutputEstimate {
  uint64_t file_bytes = 0;                                      // every output file, headers and padding included
  uint64_t tensor_bytes = 0;                                    // tensor data only
  uint64_t memory_bytes = 0;                                    // peak tensor data in flight while running
  std::map<std::string, std::pair<size_t, uint64_t>> per_type;  // encoding -> (tensors, bytes)
  std::vector<std::pair<std::string, uint64_t>> files;          // path -> bytes
};

// Exact sizes, obtained by running each file's writer against a counting sink.
Result<OutputEstimate> estimate_output(const core::Registry& registry, const Conversion& conversion);

}  // namespace quantflow::pipeline
