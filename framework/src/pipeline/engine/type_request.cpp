#include "pipeline/engine/type_request.hpp"

#include <array>
#include <cctype>
#include <string_view>

#include <fmt/format.h>

namespace quantflow::pipeline {

namespace {

// The scales of a grouped encoding take the source's float type, as mlx-lm's do.
std::string_view scale_type_for(const DType& source) {
  for (std::string_view plain : {"f32", "f16", "bf16"})
    if (source.name == plain) return plain;
  return "f16";
}

}  // namespace

Result<std::string> family_name(const TypeRequest& request) {
  const std::string type = canonical_dtype_name(request.type);
  if (type != "mlx") {
    if (request.bits != 0 || !request.mode.empty())
      return usage_error(fmt::format("--bits and --mode go with --type mlx, not --type {}", request.type));
    return type;
  }
  const std::string mode = request.mode.empty() ? "affine" : canonical_dtype_name(request.mode);
  if (mode == "affine") return fmt::format("mlx_q{}", request.bits == 0 ? 4u : request.bits);
  const bool fixed_bits = request.bits == 0 || request.bits == (mode == "mxfp8" ? 8u : 4u);
  if ((mode != "mxfp4" && mode != "mxfp8" && mode != "nvfp4") || !fixed_bits)
    return usage_error(fmt::format("--mode {} with --bits {} is not an MLX quantization (affine, mxfp4, mxfp8, nvfp4)",
                                   request.mode, request.bits));
  return "mlx_" + mode;
}

const CodecDescriptor* resolve_type(const CodecCatalog& catalog, const TypeRequest& request, const DType& source) {
  const auto family = family_name(request);
  if (!family.ok()) return nullptr;
  const CodecDescriptor* exact = catalog.find(*family);
  if (exact != nullptr) {
    if (request.group_size != 0 && exact->block_elems != request.group_size) return nullptr;
    return exact;
  }
  const uint32_t group = request.group_size == 0 ? kDefaultGroupSize : request.group_size;
  return catalog.find(fmt::format("{}_g{}_{}", *family, group, scale_type_for(source)));
}

bool family_quantizes(const TensorInfo& tensor) {
  if (tensor.shape.size() < 2 || tensor.shape.size() > 3) return false;
  std::string name = tensor.name;
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name.find("conv") == std::string::npos;
}

bool is_known_type(const CodecCatalog& catalog, const std::vector<const CodecDescriptor*>& codecs,
                   const TypeRequest& request) {
  const auto family = family_name(request);
  if (!family.ok()) return false;
  if (catalog.find(*family) != nullptr) return true;
  const std::string prefix = *family + "_g";
  for (const auto* codec : codecs)
    if (std::string_view(codec->name).starts_with(prefix)) return true;
  return false;
}

}  // namespace quantflow::pipeline
