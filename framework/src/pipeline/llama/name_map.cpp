#include "pipeline/llama/name_map.hpp"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <span>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace quantflow::pipeline {

namespace {

// The data rewrite a name rule asks for. `rotary_q`/`rotary_k` interleave rotary rows with
// n_head / n_head_kv heads, on architectures whose table says so.
enum class Rewrite { none, rotary_q, rotary_k, transpose };

// Patterns are dot-separated; `{N}` matches a layer number, `{S}` the suffix weight|bias.
struct NameRule {
  const char* hf;
  const char* gguf;
  Rewrite rewrite = Rewrite::none;
};

constexpr NameRule kLlamaNames[] = {
    {"embed_tokens.weight", "token_embd.weight"},
    {"norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
    {"layers.{N}.input_layernorm.weight", "blk.{N}.attn_norm.weight"},
    {"layers.{N}.self_attn.q_proj.{S}", "blk.{N}.attn_q.{S}", Rewrite::rotary_q},
    {"layers.{N}.self_attn.k_proj.{S}", "blk.{N}.attn_k.{S}", Rewrite::rotary_k},
    {"layers.{N}.self_attn.v_proj.{S}", "blk.{N}.attn_v.{S}"},
    {"layers.{N}.self_attn.o_proj.{S}", "blk.{N}.attn_output.{S}"},
    {"layers.{N}.post_attention_layernorm.weight", "blk.{N}.ffn_norm.weight"},
    {"layers.{N}.mlp.gate_proj.{S}", "blk.{N}.ffn_gate.{S}"},
    {"layers.{N}.mlp.up_proj.{S}", "blk.{N}.ffn_up.{S}"},
    {"layers.{N}.mlp.down_proj.{S}", "blk.{N}.ffn_down.{S}"},
    {"layers.{N}.self_attn.q_norm.weight", "blk.{N}.attn_q_norm.weight"},
    {"layers.{N}.self_attn.k_norm.weight", "blk.{N}.attn_k_norm.weight"},
};

constexpr NameRule kGpt2Names[] = {
    {"wte.weight", "token_embd.weight"},
    {"wpe.weight", "position_embd.weight"},
    {"ln_f.{S}", "output_norm.{S}"},
    {"lm_head.weight", "output.weight"},
    {"h.{N}.ln_1.{S}", "blk.{N}.attn_norm.{S}"},
    {"h.{N}.ln_2.{S}", "blk.{N}.ffn_norm.{S}"},
    // GPT-2's Conv1D stores linear weights as [in, out]; GGUF wants [out, in].
    {"h.{N}.attn.c_attn.weight", "blk.{N}.attn_qkv.weight", Rewrite::transpose},
    {"h.{N}.attn.c_attn.bias", "blk.{N}.attn_qkv.bias"},
    {"h.{N}.attn.c_proj.weight", "blk.{N}.attn_output.weight", Rewrite::transpose},
    {"h.{N}.attn.c_proj.bias", "blk.{N}.attn_output.bias"},
    {"h.{N}.mlp.c_fc.weight", "blk.{N}.ffn_up.weight", Rewrite::transpose},
    {"h.{N}.mlp.c_fc.bias", "blk.{N}.ffn_up.bias"},
    {"h.{N}.mlp.c_proj.weight", "blk.{N}.ffn_down.weight", Rewrite::transpose},
    {"h.{N}.mlp.c_proj.bias", "blk.{N}.ffn_down.bias"},
};

constexpr const char* kLlamaDropped[] = {".rotary_emb.inv_freq", ".attention.masked_bias", ".attention.bias"};
constexpr const char* kGpt2Dropped[] = {".attn.bias", ".attn.masked_bias"};

struct Architecture {
  const char* name;
  const char* optional_prefix;  // stripped before matching (bare backbones lack it)
  std::span<const NameRule> rules;
  std::span<const char* const> dropped_suffixes;
  bool interleave_rotary;  // llama's rope wants interleaved pairs; NEOX-style archs do not
  std::vector<const char*> hf_classes;
};

const std::vector<Architecture>& architectures() {
  static const std::vector<Architecture> table = {
      {"llama",
       "model.",
       kLlamaNames,
       kLlamaDropped,
       true,
       {"LlamaForCausalLM", "LlamaModel", "MistralForCausalLM", "MixtralForCausalLM", "mistral"}},
      {"qwen2", "model.", kLlamaNames, kLlamaDropped, false, {"Qwen2ForCausalLM", "Qwen2Model"}},
      {"qwen3", "model.", kLlamaNames, kLlamaDropped, false, {"Qwen3ForCausalLM", "Qwen3Model"}},
      {"gpt2", "transformer.", kGpt2Names, kGpt2Dropped, false, {"GPT2LMHeadModel", "GPT2Model"}},
  };
  return table;
}

const Architecture* find_architecture(std::string_view name) {
  for (const auto& a : architectures()) {
    if (name == a.name) return &a;
    for (const char* c : a.hf_classes)
      if (name == c) return &a;
  }
  return nullptr;
}

std::vector<std::string> split_dots(std::string_view s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    parts.emplace_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// Matches `name` against `pattern`, filling the {N} and {S} captures.
bool match_rule(const std::string& pattern, const std::string& name, std::string& layer, std::string& suffix) {
  const auto p = split_dots(pattern), n = split_dots(name);
  if (p.size() != n.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == "{N}" && all_digits(n[i]))
      layer = n[i];
    else if (p[i] == "{S}" && (n[i] == "weight" || n[i] == "bias"))
      suffix = n[i];
    else if (p[i] != n[i])
      return false;
  }
  return true;
}

std::string substitute(std::string pattern, const std::string& layer, const std::string& suffix) {
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"{N}", layer}, {"{S}", suffix}})
    for (size_t at = pattern.find(key); at != std::string::npos; at = pattern.find(key)) pattern.replace(at, 3, value);
  return pattern;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The first of `keys` present in `config` as an unsigned integer, or 0.
uint64_t first_count(const nlohmann::json& config, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (config.contains(k) && config[k].is_number_unsigned()) return config[k].get<uint64_t>();
  return 0;
}

}  // namespace

std::vector<std::string> builtin_name_maps() { return {"hf-to-gguf", kNoNameMap}; }

bool is_builtin_name_map(const std::string& name) {
  for (const auto& n : builtin_name_maps())
    if (n == name) return true;
  return false;
}

std::vector<std::string> hf_architectures() {
  std::vector<std::string> out;
  for (const auto& a : architectures()) out.emplace_back(a.name);
  return out;
}

std::string gguf_architecture_of_class(std::string_view hf_class) {
  for (const auto& a : architectures())
    for (const char* c : a.hf_classes)
      if (hf_class == c) return a.name;
  return {};
}

// Class names are CamelCase; the lower-case entries of the table are model_type values.
std::vector<std::string> hf_model_classes() {
  std::vector<std::string> out;
  for (const auto& a : architectures())
    for (const char* c : a.hf_classes)
      if (std::isupper(static_cast<unsigned char>(c[0]))) out.emplace_back(c);
  return out;
}

Result<ArchitectureParams> resolve_architecture(const RenameSpec& rename, const std::string& input) {
  ArchitectureParams params;
  params.heads = rename.heads.value;
  params.kv_heads = rename.kv_heads.value;
  nlohmann::json config;
  const auto config_path = std::filesystem::path(input).parent_path() / "config.json";
  if (std::ifstream in(config_path); in) {
    config = nlohmann::json::parse(in, nullptr, false);
    if (config.is_discarded())
      return recipe_error(rename.builtin.mark, fmt::format("{} is not valid JSON", config_path.string()));
    if (config.contains("text_config") && config["text_config"].is_object()) config.update(config["text_config"]);
  }
  std::string architecture = rename.architecture.value;
  if (architecture.empty() && config.contains("architectures") && config["architectures"].is_array() &&
      !config["architectures"].empty() && config["architectures"][0].is_string())
    architecture = config["architectures"][0].get<std::string>();
  if (architecture.empty() && config.contains("model_type") && config["model_type"].is_string())
    architecture = config["model_type"].get<std::string>();
  const Architecture* arch = find_architecture(architecture);
  if (arch == nullptr) {
    std::string known;
    for (const auto& a : hf_architectures()) known += (known.empty() ? "" : ", ") + a;
    const SourceMark& at = rename.architecture.value.empty() ? rename.builtin.mark : rename.architecture.mark;
    return recipe_error(
        at, architecture.empty()
                ? fmt::format("set 'rename.architecture' ({}): there is no config.json beside {} "
                              "to read it from",
                              known, input)
                : fmt::format("hf-to-gguf does not know architecture '{}' (known: {})", architecture, known));
  }
  params.architecture = arch->name;
  if (params.heads == 0) params.heads = first_count(config, {"num_attention_heads", "n_head", "n_heads"});
  if (params.kv_heads == 0) params.kv_heads = first_count(config, {"num_key_value_heads", "n_kv_heads"});
  if (params.kv_heads == 0) params.kv_heads = params.heads;
  if (arch->interleave_rotary && params.heads == 0)
    return recipe_error(rename.builtin.mark, fmt::format("the {} map reorders Q/K rows per head; set 'rename.heads' "
                                                         "(and 'rename.kv_heads') or provide config.json",
                                                         arch->name));
  return params;
}

MappedName map_hf_to_gguf(const std::string& hf_name, const ArchitectureParams& params) {
  MappedName out;
  const Architecture* arch = find_architecture(params.architecture);
  if (arch == nullptr) return out;
  for (const char* suffix : arch->dropped_suffixes)
    if (ends_with(hf_name, suffix)) {
      out.outcome = MappedName::Outcome::dropped;
      return out;
    }
  const std::string_view prefix = arch->optional_prefix;
  const std::string name = hf_name.rfind(prefix, 0) == 0 ? hf_name.substr(prefix.size()) : hf_name;
  for (const auto& rule : arch->rules) {
    std::string layer, suffix;
    if (!match_rule(rule.hf, name, layer, suffix)) continue;
    out.outcome = MappedName::Outcome::renamed;
    out.name = substitute(rule.gguf, layer, suffix);
    switch (rule.rewrite) {
      case Rewrite::none:
        break;
      case Rewrite::transpose:
        out.transform.kind = SourceTransform::Kind::transpose;
        break;
      case Rewrite::rotary_q:
      case Rewrite::rotary_k:
        if (!arch->interleave_rotary) break;
        out.transform.kind = SourceTransform::Kind::interleave_rotary_rows;
        out.transform.heads = rule.rewrite == Rewrite::rotary_q ? params.heads : params.kv_heads;
        break;
    }
    return out;
  }
  return out;
}

}  // namespace quantflow::pipeline
