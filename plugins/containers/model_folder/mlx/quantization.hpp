// MLX quantization parameters (mlx-quant.md §4): the config.json `quantization` block, with
// defaults and per-module overrides, and the key by which a codec names the MLX encoding it
// implements ({"mlx", "affine/4/64/bf16"}): mode, bits, group size and the scales' dtype.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "quantflow/status.hpp"

namespace quantflow::model_folder {

inline constexpr std::string_view kMlxContainerId = "mlx";  // the container of codecs' ids

struct MlxParams {
  std::string mode = "affine";
  uint32_t bits = 4;
  uint32_t group_size = 64;
  bool has_biases() const { return mode == "affine"; }
  friend bool operator==(const MlxParams&, const MlxParams&) = default;
};

// A mode's defaults (affine 64/4, mxfp4 32/4, nvfp4 16/4, mxfp8 32/8); error for other modes.
Result<MlxParams> mode_defaults(std::string_view mode);

struct MlxQuantization {
  MlxParams defaults;
  // Per-module entries by module path; nullopt is `false`: the module is not quantized.
  std::map<std::string, std::optional<MlxParams>> modules;
  // The parameters of module `path`, given that its weights have scales (mlx-lm's rule).
  std::optional<MlxParams> for_module(const std::string& path) const;
};

// Parses a `quantization` block; messages name the offending key.
Result<MlxQuantization> parse_quantization(const nlohmann::json& block);

// The block for these defaults and overrides (what mlx-lm writes).
nlohmann::json quantization_json(const MlxQuantization& quantization);

// "affine/4/64/bf16": the codec id of these parameters with scales stored as `scale_dtype`
// (a lower-case safetensors spelling: f16, bf16, f32, u8).
std::string codec_key(const MlxParams& params, std::string_view scale_dtype);

struct CodecKey {
  MlxParams params;
  std::string scale_dtype;
};
std::optional<CodecKey> parse_codec_key(std::string_view key);

}  // namespace quantflow::model_folder
