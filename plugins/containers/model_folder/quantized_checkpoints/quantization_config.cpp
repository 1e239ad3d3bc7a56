// The quantization config of an AutoAWQ or GPTQ checkpoint (mlx-quant.md §6, §7): only the keys
// that decide how the stored tensors decode; every refusal names the key and the value.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "quantized_checkpoints.hpp"

namespace quantflow::model_folder {

namespace {

using nlohmann::json;

const std::string kPrefix = "quantization config: ";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Status wrong_type(const char* key, const char* expected, const json& value) {
  return bad_input(kPrefix + "'" + key + "' must be " + expected + ", got " + value.dump());
}

Result<bool> optional_bool(const json& block, const char* key, bool fallback) {
  const auto it = block.find(key);
  if (it == block.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return wrong_type(key, "true or false", *it);
  return it->get<bool>();
}

// A string compared case-insensitively (AutoAWQ writes "GEMM", transformers "gemm").
Result<std::string> optional_lower_string(const json& block, const char* key, const char* fallback) {
  const auto it = block.find(key);
  if (it == block.end() || it->is_null()) return std::string(fallback);
  if (!it->is_string()) return wrong_type(key, "a string", *it);
  return lower(it->get<std::string>());
}

Result<int> required_int(const json& block, const char* key) {
  const auto it = block.find(key);
  if (it == block.end()) return bad_input(kPrefix + "'" + key + "' is missing");
  if (!it->is_number_integer()) return wrong_type(key, "an integer", *it);
  const bool fits = it->is_number_unsigned() ? it->get<uint64_t>() <= INT32_MAX
                                             : it->get<int64_t>() >= INT32_MIN && it->get<int64_t>() <= INT32_MAX;
  if (!fits) return wrong_type(key, "a 32-bit integer", *it);
  return static_cast<int>(it->get<int64_t>());
}

Result<QuantMethod> method_of(const json& block, std::optional<QuantMethod> method_if_absent) {
  const auto it = block.find("quant_method");
  if (it == block.end() || it->is_null()) {
    if (method_if_absent) return *method_if_absent;
    return bad_input(kPrefix + "'quant_method' is missing");
  }
  if (!it->is_string()) return wrong_type("quant_method", "a string", *it);
  const std::string method = lower(it->get<std::string>());
  if (method == "awq") return QuantMethod::awq;
  if (method == "gptq") return QuantMethod::gptq;
  return bad_input(kPrefix + "quant_method '" + it->get<std::string>() +
                   "' is not supported (quantized checkpoints are read for awq and gptq)");
}

Status check_awq(const json& block, QuantizationConfig& config) {
  if (config.bits != 4)
    return bad_input(kPrefix + "AWQ bits " + std::to_string(config.bits) +
                     " is not supported: the GEMM layout packs 4-bit values, 8 per 32-bit word");
  if (config.group_size <= 0)
    return bad_input(kPrefix + "AWQ group_size must be a positive number of inputs, got " +
                     std::to_string(config.group_size));
  QF_ASSIGN_OR_RETURN(config.zero_point, optional_bool(block, "zero_point", true));
  QF_ASSIGN_OR_RETURN(const std::string version, optional_lower_string(block, "version", "gemm"));
  if (version != "gemm")
    return bad_input(kPrefix + "AWQ version '" + version +
                     "' is not supported: only the GEMM layout is decoded (the GEMV, Marlin and ExLlama variants pack "
                     "qweight and qzeros differently)");
  return {};
}

Status check_gptq(const json& block, QuantizationConfig& config) {
  if (config.bits == 3)
    return bad_input(kPrefix +
                     "GPTQ bits 3 is not supported: 3-bit checkpoints pack 32 values into 3 consecutive words as one "
                     "96-bit stream with values straddling word boundaries, a layout no reference decoder "
                     "(llama.cpp's converter, mlx-lm) reads to validate against");
  if (config.bits != 2 && config.bits != 4 && config.bits != 8)
    return bad_input(kPrefix + "GPTQ bits must be 2, 4 or 8, got " + std::to_string(config.bits));
  if (config.group_size == 0 || config.group_size < -1)
    return bad_input(kPrefix + "GPTQ group_size must be a positive number of inputs or -1 (one group), got " +
                     std::to_string(config.group_size));
  QF_ASSIGN_OR_RETURN(config.desc_act, optional_bool(block, "desc_act", false));
  QF_ASSIGN_OR_RETURN(config.sym, optional_bool(block, "sym", true));
  QF_ASSIGN_OR_RETURN(const bool marlin, optional_bool(block, "is_marlin_format", false));
  if (marlin)
    return bad_input(kPrefix + "'is_marlin_format' is true: Marlin-repacked GPTQ checkpoints are not supported");
  QF_ASSIGN_OR_RETURN(const std::string format, optional_lower_string(block, "checkpoint_format", "gptq"));
  if (format == "gptq") {
    config.checkpoint_format = GptqCheckpointFormat::v1;
  } else if (format == "gptq_v2") {
    config.checkpoint_format = GptqCheckpointFormat::v2;
  } else {
    return bad_input(kPrefix + "GPTQ checkpoint_format '" + format +
                     "' is not supported (gptq and gptq_v2 are; other formats repack the tensors)");
  }
  return {};
}

}  // namespace

Result<QuantizationConfig> parse_quantization_config(const nlohmann::json& block,
                                                     std::optional<QuantMethod> method_if_absent) {
  if (!block.is_object()) return bad_input(kPrefix + "expected a JSON object, got " + block.dump());
  QuantizationConfig config;
  QF_ASSIGN_OR_RETURN(config.method, method_of(block, method_if_absent));
  QF_ASSIGN_OR_RETURN(config.bits, required_int(block, "bits"));
  QF_ASSIGN_OR_RETURN(config.group_size, required_int(block, "group_size"));
  QF_RETURN_IF_ERROR(config.method == QuantMethod::awq ? check_awq(block, config) : check_gptq(block, config));
  return config;
}

}  // namespace quantflow::model_folder
