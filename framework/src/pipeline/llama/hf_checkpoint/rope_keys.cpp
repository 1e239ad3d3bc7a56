#include "pipeline/llama/hf_checkpoint/rope_keys.hpp"

#include <cmath>
#include <numbers>

#include "pipeline/llama/hf_checkpoint/model_keys.hpp"

namespace quantflow::pipeline::hf {

namespace {

using Keys = std::initializer_list<const char*>;

constexpr Keys kYarnExtrapolation = {"extrapolation_factor"};
constexpr Keys kYarnAttention = {"attention_factor", "attn_factor"};
constexpr Keys kYarnBetaFast = {"beta_fast"};
constexpr Keys kYarnBetaSlow = {"beta_slow"};

// rope.scaling.<key> of yarn scaling, from its settings.
struct YarnKey {
  const char* key;
  Keys sources;
};
constexpr YarnKey kYarnKeys[] = {{"yarn_ext_factor", kYarnExtrapolation},
                                 {"yarn_attn_factor", kYarnAttention},
                                 {"yarn_beta_fast", kYarnBetaFast},
                                 {"yarn_beta_slow", kYarnBetaSlow}};

// rope_parameters, else rope_scaling; its full_attention part when it has one.
const nlohmann::json* rope_dict(const nlohmann::json& hp) {
  const nlohmann::json* dict = first_present(hp, {"rope_parameters", "rope_scaling"});
  if (dict == nullptr || !dict->is_object()) return nullptr;
  if (const auto full = dict->find("full_attention"); full != dict->end() && full->is_object()) return &*full;
  return dict;
}

std::string rope_type(const nlohmann::json& dict) {
  const nlohmann::json* type = first_present(dict, {"rope_type", "type"});
  return type != nullptr && type->is_string() ? type->get<std::string>() : "";
}

std::optional<double> number(const nlohmann::json* value) {
  if (value == nullptr || !value->is_number()) return std::nullopt;
  return value->get<double>();
}

}  // namespace

std::optional<double> rope_base(const nlohmann::json& hp) {
  if (auto base = number(first_present(hp, {"rope_theta"}))) return base;
  for (const char* dict : {"rope_parameters", "rope_scaling"})
    if (hp.contains(dict))
      if (auto base = number(first_present(hp[dict], {"rope_theta"}))) return base;
  return std::nullopt;
}

// §3.3: the keys a rope scaling type writes.
void add_rope_scaling(const std::string& arch, const nlohmann::json& hp, Metadata& metadata) {
  const nlohmann::json* dict = rope_dict(hp);
  if (dict == nullptr) return;
  const std::string type = rope_type(*dict);
  const auto factor = number(first_present(*dict, {"factor"}));
  const std::string prefix = arch + ".rope.scaling.";
  if ((type == "linear" || type == "yarn") && factor) {
    metadata.append(prefix + "type", MetaValue::make_string(type));
    metadata.append(prefix + "factor", MetaValue::make_f32(static_cast<float>(*factor)));
  }
  if (type == "yarn" && factor) {
    if (const nlohmann::json* original = first_present(*dict, {"original_max_position_embeddings"});
        original != nullptr && original->is_number_unsigned())
      metadata.append(prefix + "original_context_length",
                      MetaValue::make_u32(static_cast<uint32_t>(original->get<uint64_t>())));
    for (const auto& [key, sources] : kYarnKeys)
      if (auto value = number(first_present(*dict, sources)))
        metadata.append(prefix + key, MetaValue::make_f32(static_cast<float>(*value)));
  }
  if (type == "su" || type == "longrope") metadata.append(prefix + "type", MetaValue::make_string("longrope"));
}

Result<std::optional<std::vector<float>>> llama3_rope_factors(const Checkpoint& checkpoint) {
  const nlohmann::json* dict = rope_dict(checkpoint.hparams);
  if (checkpoint.arch.architecture != "llama" || dict == nullptr || rope_type(*dict) != "llama3")
    return std::optional<std::vector<float>>();
  QF_ASSIGN_OR_RETURN(const uint64_t dim, rope_dimension(checkpoint));
  auto setting = [&](const char* key, double fallback) {
    return static_cast<float>(number(first_present(*dict, {key})).value_or(fallback));
  };
  const float base = static_cast<float>(rope_base(checkpoint.hparams).value_or(10000.0));
  const float factor = setting("factor", 8), low = setting("low_freq_factor", 1), high = setting("high_freq_factor", 4);
  const float context = setting("original_max_position_embeddings", 8192);
  const float two_pi = static_cast<float>(2 * std::numbers::pi);
  std::vector<float> factors;
  // §3.3, in float32 arithmetic as the converter computes it.
  for (uint64_t k = 0; k < dim / 2; ++k) {
    const float exponent = static_cast<float>(2 * k) / static_cast<float>(dim);
    const float freq = 1.0f / std::pow(base, exponent);
    const float wavelen = two_pi / freq;
    if (wavelen < context / high) {
      factors.push_back(1.0f);
    } else if (wavelen > context / low) {
      factors.push_back(factor);
    } else {
      const float smooth = (context / wavelen - low) / (high - low);
      factors.push_back(1.0f / ((1.0f - smooth) / factor + smooth));
    }
  }
  return std::optional<std::vector<float>>(std::move(factors));
}

}  // namespace quantflow::pipeline::hf
