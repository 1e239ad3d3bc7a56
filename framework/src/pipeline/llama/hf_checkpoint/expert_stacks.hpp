// Mixtral's sparse-MoE tensors (hf-to-gguf.md §1.1): the router becomes ffn_gate_inp, and the
// per-expert w1/w2/w3 matrices of a layer are stacked along a new first dimension into one
// 3-D tensor (ffn_gate_exps / ffn_down_exps / ffn_up_exps), expert 0 first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace quantflow::pipeline::hf {

// What a checkpoint name says about the MoE block it belongs to.
struct MoeName {
  std::string gguf_name;           // the router's name, or the stack's name every expert shares
  std::optional<uint64_t> expert;  // nullopt: the router
  uint64_t layer = 0;
  std::string matrix;  // "w1", "w2", "w3"; empty for the router
};

// The checkpoint name of expert `expert` of the stack `moe` belongs to.
std::string expert_hf_name(const MoeName& moe, uint64_t expert);

// The MoE role of `hf_name` (`model.layers.N.block_sparse_moe.gate.weight` or
// `…experts.E.w1|w2|w3.weight`), or nullopt for any other tensor.
std::optional<MoeName> parse_moe_name(const std::string& hf_name);

}  // namespace quantflow::pipeline::hf
