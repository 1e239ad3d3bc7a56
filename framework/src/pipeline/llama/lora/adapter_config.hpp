// A PEFT adapter_config.json as far as a GGUF LoRA can hold it: the rank and alpha of a plain
// LoRA. Every setting that changes what the adapter computes beyond W + B·A·alpha/r, and that
// llama.cpp's LoRA loader cannot express, is refused by name.
#pragma once

#include <cstdint>
#include <string>

#include "quantflow/status.hpp"

namespace quantflow::pipeline::lora {

struct AdapterConfig {
  uint64_t rank = 0;          // r: the rank of every pair unless rank_pattern says otherwise
  double alpha = 0;           // lora_alpha
  bool rank_pattern = false;  // per-module ranks: each pair's own shape gives its rank
  bool rslora = false;        // use_rslora: PEFT scales by alpha / sqrt(r) instead of alpha / r
  std::string task_type;      // "CAUSAL_LM", "SEQ_CLS", ... (empty when absent)
  std::string base_model;     // base_model_name_or_path (empty when absent), for messages
};

// Reads and checks `path` (an adapter_config.json); errors name the file and the key.
Result<AdapterConfig> read_adapter_config(const std::string& path);

// adapter.lora.alpha: llama.cpp scales a pair by alpha / (the pair's rank), so this is
// lora_alpha, or lora_alpha * sqrt(r) under use_rslora (whose pairs all have rank r).
float gguf_alpha(const AdapterConfig& config);

}  // namespace quantflow::pipeline::lora
