// A model card (README.md with YAML front matter) describing written output files, built by
// reading the outputs back so that it states what is on disk, not what was planned.
#pragma once

#include <string>
#include <vector>

#include "core/registry.hpp"
#include "quantflow/status.hpp"

namespace quantflow::pipeline {

struct ModelCardRequest {
  std::vector<std::string> files;    // the written model files (shards in order); index files excluded
  std::string quantization;          // e.g. "Q4_K_M" or "q8_0"; empty: the encoding holding the most bytes
  std::vector<std::string> sources;  // input files, named in the card
  bool replace_existing = false;     // the user asked (--force) to replace an existing README.md
};

// Where the card for an output goes: README.md in the output's directory.
std::string model_card_path(const std::string& output);

// Refuses, before anything is written, a card that would land on the output itself, or
// replace an existing README.md the user did not ask to replace.
Status check_model_card_target(const std::string& output, bool replace_existing);

// The card's text.
Result<std::string> render_model_card(const core::Registry& registry, const ModelCardRequest& request);

// README.md beside the first output file, written atomically; never replaces an input.
// Returns the card's path.
Result<std::string> write_model_card(const core::Registry& registry, const ModelCardRequest& request);

}  // namespace quantflow::pipeline
