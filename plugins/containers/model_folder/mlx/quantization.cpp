#include "mlx/quantization.hpp"

#include <array>
#include <charconv>
#include <vector>

#include <fmt/format.h>

namespace quantflow::model_folder {

namespace {

const std::array kModes = {
    MlxParams{.mode = "affine", .bits = 4, .group_size = 64},
    MlxParams{.mode = "mxfp4", .bits = 4, .group_size = 32},
    MlxParams{.mode = "nvfp4", .bits = 4, .group_size = 16},
    MlxParams{.mode = "mxfp8", .bits = 8, .group_size = 32},
};

Result<uint32_t> positive(const nlohmann::json& value, const std::string& where) {
  if (!value.is_number_integer() || value.get<int64_t>() <= 0 || value.get<int64_t>() > 1024)
    return bad_input(fmt::format("quantization: {} must be a positive integer, not {}", where, value.dump()));
  return static_cast<uint32_t>(value.get<int64_t>());
}

// Reads mode, bits and group_size from `object`, each missing key taken from the mode's defaults.
Result<MlxParams> read_params(const nlohmann::json& object, const std::string& where) {
  std::string mode = "affine";
  if (const auto it = object.find("mode"); it != object.end()) {
    if (!it->is_string()) return bad_input(fmt::format("quantization: {}mode must be a string", where));
    mode = it->get<std::string>();
  }
  auto params = mode_defaults(mode);
  if (!params.ok()) return bad_input(fmt::format("quantization: {}{}", where, params.status().message()));
  if (const auto it = object.find("bits"); it != object.end()) {
    QF_ASSIGN_OR_RETURN(params->bits, positive(*it, where + "bits"));
  }
  if (const auto it = object.find("group_size"); it != object.end()) {
    QF_ASSIGN_OR_RETURN(params->group_size, positive(*it, where + "group_size"));
  }
  return params;
}

bool is_parameter_key(const std::string& key) { return key == "mode" || key == "bits" || key == "group_size"; }

std::optional<uint32_t> parse_number(std::string_view text) {
  uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

Result<MlxParams> mode_defaults(std::string_view mode) {
  for (const auto& m : kModes)
    if (m.mode == mode) return m;
  return bad_input(fmt::format("unknown MLX quantization mode '{}' (affine, mxfp4, nvfp4, mxfp8)", mode));
}

std::optional<MlxParams> MlxQuantization::for_module(const std::string& path) const {
  if (const auto it = modules.find(path); it != modules.end()) return it->second;
  return defaults;
}

Result<MlxQuantization> parse_quantization(const nlohmann::json& block) {
  if (!block.is_object()) return bad_input("quantization must be an object, not " + std::string(block.type_name()));
  MlxQuantization q;
  QF_ASSIGN_OR_RETURN(q.defaults, read_params(block, ""));
  for (const auto& [key, value] : block.items()) {
    if (is_parameter_key(key)) continue;
    if (value.is_boolean() && !value.get<bool>()) {
      q.modules.emplace(key, std::nullopt);
    } else if (value.is_object()) {
      QF_ASSIGN_OR_RETURN(auto params, read_params(value, key + "."));
      q.modules.emplace(key, params);
    }
    // Other keys (quant_method, tuning settings of foreign tools) say nothing about modules.
  }
  return q;
}

nlohmann::json quantization_json(const MlxQuantization& quantization) {
  nlohmann::json block = nlohmann::json::object();
  block["group_size"] = quantization.defaults.group_size;
  block["bits"] = quantization.defaults.bits;
  block["mode"] = quantization.defaults.mode;
  for (const auto& [path, params] : quantization.modules) {
    if (!params) {
      block[path] = false;
      continue;
    }
    block[path] = {{"group_size", params->group_size}, {"bits", params->bits}, {"mode", params->mode}};
  }
  return block;
}

std::string codec_key(const MlxParams& params, std::string_view scale_dtype) {
  return fmt::format("{}/{}/{}/{}", params.mode, params.bits, params.group_size, scale_dtype);
}

std::optional<CodecKey> parse_codec_key(std::string_view key) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t slash = key.find('/', start);
    parts.push_back(key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() != 4) return std::nullopt;
  const auto bits = parse_number(parts[1]);
  const auto group = parse_number(parts[2]);
  if (!bits || !group || !mode_defaults(parts[0]).ok()) return std::nullopt;
  return CodecKey{.params = {.mode = std::string(parts[0]), .bits = *bits, .group_size = *group},
                  .scale_dtype = std::string(parts[3])};
}

}  // namespace quantflow::model_folder
