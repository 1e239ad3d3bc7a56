#include "loadable.hpp"

#include <string_view>

namespace quantflow::gguf {

namespace {

// Name fragments only LoRA adapters (PEFT's naming) have.
constexpr std::string_view kLoraMarkers[] = {"lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B"};

// Prefixes and fragments of Hugging Face transformers' tensor names that llama.cpp never uses.
constexpr std::string_view kHfPrefixes[] = {"model.", "transformer.", "lm_head."};
constexpr std::string_view kHfFragments[] = {".self_attn.", ".mlp.", ".attn.c_attn.", ".input_layernorm."};

bool looks_like_hf(std::string_view name) {
  for (auto prefix : kHfPrefixes)
    if (name.starts_with(prefix)) return true;
  for (auto fragment : kHfFragments)
    if (name.find(fragment) != std::string_view::npos) return true;
  return false;
}

}  // namespace

Status check_loadable(const Metadata& metadata, const std::vector<TensorInfo>& tensors) {
  for (const TensorInfo& t : tensors)
    for (auto marker : kLoraMarkers)
      if (t.name.find(marker) != std::string::npos)
        return unsupported(
                   "this is a LoRA adapter; a GGUF file of it under these names loads nowhere: convert its "
                   "folder with `quantflow convert ADAPTER_DIR out.gguf --base BASE_DIR` (docs/hf.md), or pass "
                   "--option allow_unloadable=1")
            .with_tensor(t.name);
  if (metadata.find("general.architecture") != nullptr) return {};
  for (const TensorInfo& t : tensors)
    if (looks_like_hf(t.name))
      return unsupported(
                 "Hugging Face tensor names and no general.architecture: llama.cpp cannot load such a GGUF file; "
                 "convert Hugging Face checkpoints with a recipe using 'rename: {builtin: hf-to-gguf}' (see "
                 "docs/recipes.md), or pass --option allow_unloadable=1")
          .with_tensor(t.name);
  return {};
}

}  // namespace quantflow::gguf
