#include "pipeline/llama/hf_checkpoint/storage_types.hpp"

namespace quantflow::pipeline::hf {

namespace {

constexpr std::string_view kF32Fragments[] = {"ffn_gate_inp", "position_embd", "token_types"};
constexpr std::string_view kTernaryTypes[] = {"tq1_0", "tq2_0"};
constexpr std::string_view kTernaryF16Names[] = {"token_embd.weight", "output.weight"};

}  // namespace

bool converter_keeps_f32(const TensorInfo& tensor) {
  const std::string_view name = tensor.name;
  if (tensor.shape.size() <= 1 || name.ends_with("_norm.weight") || !name.ends_with(".weight")) return true;
  for (auto fragment : kF32Fragments)
    if (name.find(fragment) != std::string_view::npos) return true;
  return false;
}

std::string fixed_encoding_name(const TensorInfo& tensor, std::string_view requested) {
  if (converter_keeps_f32(tensor)) return "f32";
  for (auto ternary : kTernaryTypes)
    if (requested == ternary)
      for (auto name : kTernaryF16Names)
        if (tensor.name == name) return "f16";
  return "";
}

}  // namespace quantflow::pipeline::hf
