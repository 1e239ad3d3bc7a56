// The files a conversion writes: one, or split files of at most a given amount of tensor data
// following the output container's declared convention (QfSplitConvention); and their exact
// sizes, measured by running the container's writer against a counting sink.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/engine/conversion.hpp"

namespace quantflow::pipeline {

// Removes the keys with which the container describes a split: an input's own split must
// not leak into an output that is split differently, or not at all.
void drop_split_keys(const ContainerDescriptor& container, Metadata& metadata);

// Fills conversion.files (and index_path) from conversion.plan: one file at `path` when
// `split_size` is 0, else files of at most `split_size` bytes of tensor data (a larger tensor
// gets a file of its own). Keys describing an input's own split are dropped either way.
// Fails when `split_size` is set and the container declares no split convention.
Status plan_output_files(Conversion& conversion, const std::string& path, uint64_t split_size);

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
