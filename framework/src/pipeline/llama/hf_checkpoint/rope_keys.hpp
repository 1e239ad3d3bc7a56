// RoPE settings of config.json (hf-to-gguf.md §3.3): the frequency base, the rope.scaling.*
// keys of linear, yarn and longrope scaling, and the rope_freqs.weight factors of llama3's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pipeline/llama/hf_checkpoint/checkpoint.hpp"
#include "quantflow/metadata.hpp"

namespace quantflow::pipeline::hf {

// rope_theta, at the root or inside rope_parameters / rope_scaling.
std::optional<double> rope_base(const nlohmann::json& hparams);

// Appends <arch>.rope.scaling.* for the scaling rope_parameters (else rope_scaling) names.
void add_rope_scaling(const std::string& architecture, const nlohmann::json& hparams, Metadata& metadata);

// The `rope_freqs.weight` values of llama3 rope scaling (architecture llama only), else nullopt.
Result<std::optional<std::vector<float>>> llama3_rope_factors(const Checkpoint& checkpoint);

}  // namespace quantflow::pipeline::hf
