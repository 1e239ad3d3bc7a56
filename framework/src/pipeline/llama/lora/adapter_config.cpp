#include "pipeline/llama/lora/adapter_config.hpp"

#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "pipeline/llama/hf_checkpoint/checkpoint.hpp"

namespace quantflow::pipeline::lora {

namespace {

// Settings a GGUF LoRA cannot express: refused when present with any value but null, false or
// an empty string, list or object (PEFT writes those when the feature is off).
struct UnsupportedSetting {
  const char* key;
  const char* why;
};

constexpr UnsupportedSetting kUnsupported[] = {
    {"use_dora", "DoRA's magnitude vectors have no place in a GGUF LoRA (llama.cpp applies plain LoRA)"},
    {"alpha_pattern", "per-module alphas; a GGUF LoRA holds one adapter.lora.alpha"},
    {"lora_bias", "lora_B's bias has no place in a GGUF LoRA"},
    {"use_qalora", "QA-LoRA pools the input before lora_A, which llama.cpp does not"},
    {"layer_replication", "it rebuilds the base's layer stack, which the GGUF base model does not have"},
    {"target_parameters", "LoRA on raw parameters (such as MoE experts) has no GGUF LoRA form"},
    {"trainable_token_indices", "trained embedding rows are full tensors, not a LoRA pair"},
    {"alora_invocation_tokens", "activated LoRA (aLoRA) is not converted"},
    {"invocation_string", "activated LoRA (aLoRA) is not converted"},
};

// init_lora_weights values that rewrite the base weights when the adapter is created: the
// adapter then belongs to those weights, not to the base model as published.
constexpr std::string_view kBaseRewritingInits[] = {"pissa", "olora", "corda", "loftq"};

bool is_set(const nlohmann::json& value) {
  if (value.is_null()) return false;
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_string() || value.is_array() || value.is_object()) return !value.empty();
  return true;
}

// A JSON value for a one-line message: long objects are cut.
std::string shown(const nlohmann::json& value) {
  std::string text = value.dump();
  return text.size() <= 60 ? text : text.substr(0, 57) + "...";
}

std::string string_or_empty(const nlohmann::json& config, const char* key) {
  const auto it = config.find(key);
  return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Status check_settings(const nlohmann::json& config) {
  if (const std::string type = string_or_empty(config, "peft_type"); type != "LORA")
    return unsupported(fmt::format("peft_type is {}: only LORA adapters convert to a GGUF LoRA",
                                   config.contains("peft_type") ? shown(config["peft_type"]) : "absent"));
  for (const UnsupportedSetting& setting : kUnsupported)
    if (const auto it = config.find(setting.key); it != config.end() && is_set(*it))
      return unsupported(fmt::format("{} is {}: {}", setting.key, shown(*it), setting.why));
  if (const auto it = config.find("bias"); it != config.end() && !it->is_null() && *it != "none")
    return unsupported(
        fmt::format("bias is {}: trained biases are full tensors, which a GGUF LoRA cannot hold", shown(*it)));
  if (const auto it = config.find("init_lora_weights"); it != config.end() && it->is_string()) {
    const std::string init = it->get<std::string>();
    for (std::string_view rewriting : kBaseRewritingInits)
      if (init.rfind(rewriting, 0) == 0)
        return unsupported(fmt::format(
            "init_lora_weights is '{}': it rewrites the base weights when the adapter is made, so the adapter does "
            "not apply to the base model as published (PEFT's path_initial_model_for_weight_conversion turns it "
            "into a plain LoRA)",
            init));
  }
  return {};
}

}  // namespace

Result<AdapterConfig> read_adapter_config(const std::string& path) {
  QF_ASSIGN_OR_RETURN(auto json, hf::read_json_file(path));
  if (!json) return bad_input("a PEFT adapter folder needs its adapter_config.json; there is none").with_file(path);
  if (!json->is_object()) return bad_input("adapter_config.json must hold a JSON object").with_file(path);
  const nlohmann::json& config = *json;
  if (Status s = check_settings(config); !s.ok()) return std::move(s).with_file(path);

  AdapterConfig out;
  const auto r = config.find("r");
  if (r == config.end() || !r->is_number_unsigned() || r->get<uint64_t>() == 0)
    return bad_input(fmt::format("r is {}, not a rank (a positive integer)", r == config.end() ? "absent" : shown(*r)))
        .with_file(path);
  out.rank = r->get<uint64_t>();
  const auto alpha = config.find("lora_alpha");
  if (alpha == config.end() || !alpha->is_number())
    return bad_input(fmt::format("lora_alpha is {}, not a number", alpha == config.end() ? "absent" : shown(*alpha)))
        .with_file(path);
  out.alpha = alpha->get<double>();
  // llama.cpp takes an alpha of 0 for "no alpha" and applies the pairs at scale 1.
  if (out.alpha == 0)
    return unsupported(
               "lora_alpha is 0: llama.cpp reads adapter.lora.alpha 0 as unset and would apply the adapter at "
               "scale 1, where PEFT applies it at scale 0")
        .with_file(path);
  out.rank_pattern = config.contains("rank_pattern") && is_set(config["rank_pattern"]);
  out.rslora = config.contains("use_rslora") && is_set(config["use_rslora"]);
  // One alpha for every pair: alpha * sqrt(r) / r gives rsLoRA's scale only when every rank is r.
  if (out.rslora && out.rank_pattern)
    return unsupported(
               "use_rslora with a rank_pattern: rsLoRA scales each pair by alpha / sqrt(its rank), which one "
               "adapter.lora.alpha cannot give for several ranks")
        .with_file(path);
  out.task_type = string_or_empty(config, "task_type");
  out.base_model = string_or_empty(config, "base_model_name_or_path");
  return out;
}

float gguf_alpha(const AdapterConfig& config) {
  const double alpha = config.rslora ? config.alpha * std::sqrt(static_cast<double>(config.rank)) : config.alpha;
  return static_cast<float>(alpha);
}

}  // namespace quantflow::pipeline::lora
