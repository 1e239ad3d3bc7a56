// The entry points that pick AWQ or GPTQ by the config's method.
#include "quantized_checkpoints.hpp"

namespace quantflow::model_folder {

Result<UnpackedLayout> unpacked_layout(const QuantizationConfig& config, const QuantizedLinear& parts) {
  return config.method == QuantMethod::awq ? awq_layout(config, parts) : gptq_layout(config, parts);
}

Status unpack(const QuantizationConfig& config, const QuantizedLinear& parts, std::span<std::byte> out) {
  return config.method == QuantMethod::awq ? unpack_awq(config, parts, out) : unpack_gptq(config, parts, out);
}

}  // namespace quantflow::model_folder
