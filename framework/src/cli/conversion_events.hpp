// What the progress stream says of a conversion (convert, quantize, run, synth): its `start`
// totals and its `done` event (docs/json.md "Events").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cli/progress.hpp"
#include "pipeline/engine/conversion.hpp"

namespace quantflow::cli {

// Every input, every model file (and split index) to be written, and the tensor totals.
ProgressStart start_of(const pipeline::Conversion& conversion);

// The model files written (shards in order, then the split index) with their sizes.
std::vector<std::pair<std::string, uint64_t>> written_file_sizes(const pipeline::Conversion& conversion);

// [{path, bytes}] for `files`.
nlohmann::json files_json(const std::vector<std::pair<std::string, uint64_t>>& files);

// The `done` event of a finished conversion: files, tensors, bytes (of the files), the
// output tensor data and the seconds since the command started. Commands add their own keys.
nlohmann::json done_event(const pipeline::Conversion& conversion, double seconds);

}  // namespace quantflow::cli
