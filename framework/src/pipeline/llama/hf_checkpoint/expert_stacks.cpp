#include "pipeline/llama/hf_checkpoint/expert_stacks.hpp"

#include <charconv>
#include <string_view>

namespace quantflow::pipeline::hf {

namespace {

constexpr std::string_view kLayers = "model.layers.";
constexpr std::string_view kBlock = ".block_sparse_moe.";
constexpr std::string_view kRouter = "gate.weight";
constexpr std::string_view kExperts = "experts.";

struct ExpertMatrix {
  std::string_view hf;    // w1, w2, w3
  std::string_view gguf;  // the stacked tensor's role
};
constexpr ExpertMatrix kExpertMatrices[] = {
    {.hf = "w1", .gguf = "ffn_gate_exps"},
    {.hf = "w2", .gguf = "ffn_down_exps"},
    {.hf = "w3", .gguf = "ffn_up_exps"},
};

// The decimal number at the start of `text` and what follows it; nullopt without digits.
std::optional<std::pair<uint64_t, std::string_view>> leading_number(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data()) return std::nullopt;
  return std::pair{value, text.substr(static_cast<size_t>(end - text.data()))};
}

}  // namespace

std::optional<MoeName> parse_moe_name(const std::string& hf_name) {
  std::string_view rest = hf_name;
  if (!rest.starts_with(kLayers)) return std::nullopt;
  const auto layer = leading_number(rest.substr(kLayers.size()));
  if (!layer || !layer->second.starts_with(kBlock)) return std::nullopt;
  const std::string block = "blk." + std::to_string(layer->first) + ".";
  rest = layer->second.substr(kBlock.size());
  if (rest == kRouter)
    return MoeName{
        .gguf_name = block + "ffn_gate_inp.weight", .expert = std::nullopt, .layer = layer->first, .matrix = ""};
  if (!rest.starts_with(kExperts)) return std::nullopt;
  const auto expert = leading_number(rest.substr(kExperts.size()));
  if (!expert || !expert->second.starts_with('.')) return std::nullopt;
  const std::string_view matrix = expert->second.substr(1);
  for (const ExpertMatrix& m : kExpertMatrices)
    if (matrix == std::string(m.hf) + ".weight")
      return MoeName{.gguf_name = block + std::string(m.gguf) + ".weight",
                     .expert = expert->first,
                     .layer = layer->first,
                     .matrix = std::string(m.hf)};
  return std::nullopt;
}

std::string expert_hf_name(const MoeName& moe, uint64_t expert) {
  return std::string(kLayers) + std::to_string(moe.layer) + std::string(kBlock) + std::string(kExperts) +
         std::to_string(expert) + "." + moe.matrix + ".weight";
}

}  // namespace quantflow::pipeline::hf
