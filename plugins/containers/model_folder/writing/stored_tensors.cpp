#include "writing/stored_tensors.hpp"

#include <cctype>

#include <fmt/format.h>

#include "safetensors/dtypes.hpp"

namespace quantflow::model_folder {

namespace {

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

Result<StoredModule> stored_module(const TensorInfo& tensor, const CodecCatalog& catalog) {
  StoredModule out;
  const CodecDescriptor* codec = catalog.find(tensor.dtype.name);
  const std::string_view key = codec ? container_id(*codec, kMlxContainerId) : std::string_view();
  if (key.empty()) {
    const auto resolved = safetensors::resolve_dtype(tensor.dtype, catalog);
    if (!resolved)
      return bad_input(fmt::format("an MLX folder holds safetensors types and MLX's quantized encodings, not {}; "
                                   "convert the tensor with --type (e.g. mlx_q4, f16)",
                                   tensor.dtype.name))
          .with_tensor(tensor.name);
    out.parts.push_back({tensor.name, std::string(resolved->entry->id), tensor.shape, tensor.n_bytes});
    return out;
  }
  const auto parsed = parse_codec_key(key);
  if (!parsed) return internal_error(fmt::format("codec {} has a malformed MLX id '{}'", codec->name, key));
  if (!tensor.name.ends_with(".weight") || tensor.shape.empty())
    return bad_input(fmt::format("MLX stores a quantized module's codes as NAME.weight; this {} tensor is not named so",
                                 tensor.dtype.name))
        .with_tensor(tensor.name);
  const MlxParams& p = parsed->params;
  const uint64_t row = tensor.shape.back();
  out.params = p;
  out.module = tensor.name.substr(0, tensor.name.size() - std::string_view(".weight").size());
  const uint32_t scale_bytes = (tensor.dtype.block_bytes - p.group_size * p.bits / 8) / (p.has_biases() ? 2 : 1);
  out.layout = {.rows = row_count(tensor.shape),
                .groups_per_row = row / p.group_size,
                .code_bytes = p.group_size * p.bits / 8,
                .scale_bytes = scale_bytes,
                .biases = p.has_biases()};
  Shape codes = tensor.shape;
  codes.back() = row * p.bits / 32;
  Shape scales = tensor.shape;
  scales.back() = row / p.group_size;
  const std::string scale_id = upper(parsed->scale_dtype);
  out.parts.push_back({tensor.name, "U32", codes, out.layout.weight_bytes()});
  out.parts.push_back({out.module + ".scales", scale_id, scales, out.layout.scales_bytes()});
  if (p.has_biases()) out.parts.push_back({out.module + ".biases", scale_id, scales, out.layout.scales_bytes()});
  return out;
}

}  // namespace quantflow::model_folder
