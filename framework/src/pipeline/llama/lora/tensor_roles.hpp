// What each tensor of a PEFT adapter_model.safetensors is: half of a LoRA pair for a base
// weight, or something else. PEFT names a pair `base_model.model.<module>.lora_A.weight` and
// `...lora_B.weight`, where <module>.weight is the base model's own tensor name.
#pragma once

#include <string>

namespace quantflow::pipeline::lora {

struct TensorRole {
  enum class Kind {
    lora_a,       // <module>.lora_A.weight: [r, in]
    lora_b,       // <module>.lora_B.weight: [out, r]
    embedding_a,  // <module>.lora_embedding_A: an Embedding's pair, [r, vocab]
    embedding_b,  // <module>.lora_embedding_B: [dim, r]
    base_layer,   // <module>.base_layer.weight: a copy of the base weight
    full,         // anything else: a whole tensor (modules_to_save, a classifier head, a norm)
  };
  Kind kind = Kind::full;
  std::string base_name;  // the base model's tensor the role belongs to, e.g. "transformer.h.0.attn.c_attn.weight"
};

TensorRole tensor_role(const std::string& adapter_name);

// "lora_A", "lora_embedding_B", ...: the role as PEFT names it, for messages.
const char* role_name(TensorRole::Kind kind);

}  // namespace quantflow::pipeline::lora
