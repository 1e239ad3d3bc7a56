// AutoAWQ's GEMM layout (mlx-quant.md §6): 4-bit values packed along the output dimension, 8
// per word in the interleaved nibble order below; no +1 on the zeros; zero 8 without qzeros.
#include <string>

#include "quantized_checkpoints.hpp"
#include "unpacking.hpp"

namespace quantflow::model_folder {

namespace {

using namespace unpacking;

constexpr int kBits = 4;
constexpr uint64_t kPerWord = 8;
constexpr uint32_t kMask = 0xF;
// Logical column 8c + j of word c sits at bit offset kShift[j].
constexpr int kShift[kPerWord] = {0, 16, 4, 20, 8, 24, 12, 28};
constexpr uint16_t kZeroWithoutQzeros = 8;

struct AwqGeometry {
  RowFormat format;
  uint64_t out = 0;
  uint64_t n_groups = 0;
};

Result<AwqGeometry> awq_geometry(const QuantizationConfig& config, const QuantizedLinear& parts) {
  if (config.method != QuantMethod::awq) return internal_error("AWQ unpacking was given a GPTQ config");
  if (config.bits != kBits || config.group_size <= 0)
    return internal_error("AWQ unpacking was given bits " + std::to_string(config.bits) + ", group_size " +
                          std::to_string(config.group_size) + " (parse_quantization_config allows 4 and > 0)");
  QF_RETURN_IF_ERROR(check_dtype("AWQ qweight", parts.qweight, {"i32"}));
  QF_RETURN_IF_ERROR(check_matrix("AWQ qweight", parts.qweight, "[in, out / 8]"));
  AwqGeometry geo;
  const uint64_t in = parts.qweight.shape[0];
  const auto out = checked_mul(parts.qweight.shape[1], kPerWord);
  if (!out) return bad_input("AWQ qweight: shape " + shape_to_string(parts.qweight.shape) + " is too large");
  const auto gs = static_cast<uint64_t>(config.group_size);
  if (in % gs != 0)
    return bad_input("AWQ qweight: " + std::to_string(in) + " inputs (shape[0]) is not a multiple of group_size " +
                     std::to_string(gs));
  geo.out = *out;
  geo.n_groups = in / gs;
  const std::string dims =
      " with in " + std::to_string(in) + ", group_size " + std::to_string(gs) + ", out " + std::to_string(geo.out);

  QF_RETURN_IF_ERROR(check_dtype("AWQ scales", parts.scales, {"f16", "bf16", "f32"}));
  QF_RETURN_IF_ERROR(check_shape("AWQ scales", parts.scales, {geo.n_groups, geo.out}, "[in / group_size, out]" + dims));
  if (config.zero_point) {
    if (!parts.qzeros) return bad_input("AWQ qzeros: missing, but the config has zero_point true");
    QF_RETURN_IF_ERROR(check_dtype("AWQ qzeros", *parts.qzeros, {"i32"}));
    QF_RETURN_IF_ERROR(check_shape("AWQ qzeros", *parts.qzeros, {geo.n_groups, geo.out / kPerWord},
                                   "[in / group_size, out / 8]" + dims));
  } else if (parts.qzeros) {
    return bad_input("AWQ qzeros: present, but the config has zero_point false (every zero point is then 8)");
  }
  if (parts.g_idx) return bad_input("AWQ g_idx: present, but AWQ checkpoints have no g_idx (GPTQ only)");

  const bool blocks = has_zero_point_codec(config.group_size) && ScaleTable(parts.scales, geo.out).is_f16();
  geo.format = {.blocks = blocks, .bits = kBits, .group_size = gs, .in = in};
  return geo;
}

}  // namespace

Result<UnpackedLayout> awq_layout(const QuantizationConfig& config, const QuantizedLinear& parts) {
  QF_ASSIGN_OR_RETURN(const AwqGeometry geo, awq_geometry(config, parts));
  return layout_of(geo.format, geo.out);
}

Status unpack_awq(const QuantizationConfig& config, const QuantizedLinear& parts, std::span<std::byte> out) {
  QF_ASSIGN_OR_RETURN(const AwqGeometry geo, awq_geometry(config, parts));
  QF_ASSIGN_OR_RETURN(const UnpackedLayout layout, layout_of(geo.format, geo.out));
  QF_RETURN_IF_ERROR(check_output_size(out, layout));
  QF_RETURN_IF_ERROR(check_bytes("AWQ qweight", parts.qweight));
  QF_RETURN_IF_ERROR(check_bytes("AWQ scales", parts.scales));
  if (parts.qzeros) QF_RETURN_IF_ERROR(check_bytes("AWQ qzeros", *parts.qzeros));

  const RowFormat& format = geo.format;
  const uint64_t words_per_row = geo.out / kPerWord;  // of qweight and qzeros
  const ScaleTable scales(parts.scales, geo.out);
  const uint64_t out_row_bytes = row_bytes(format);
  CodeStrip strip(format.in);
  RowGroups groups(geo.n_groups, format);
  // Word column c holds logical rows 8c .. 8c + 7: unpack them together, then write each.
  for (uint64_t c = 0; c < words_per_row; ++c) {
    for (uint64_t i = 0; i < format.in; ++i) {
      const uint32_t word = word_at(parts.qweight.bytes, i * words_per_row + c);
      for (uint64_t j = 0; j < kPerWord; ++j) strip.row(j)[i] = static_cast<uint8_t>(word >> kShift[j] & kMask);
    }
    for (uint64_t j = 0; j < kPerWord; ++j) {
      const uint64_t o = c * kPerWord + j;
      for (uint64_t g = 0; g < geo.n_groups; ++g)
        groups.zeros[g] =
            parts.qzeros
                ? static_cast<uint16_t>(word_at(parts.qzeros->bytes, g * words_per_row + c) >> kShift[j] & kMask)
                : kZeroWithoutQzeros;
      groups.fill_scales(scales, format, o);
      write_row(format, strip.row(j), groups, {}, out.data() + o * out_row_bytes);
    }
  }
  return {};
}

}  // namespace quantflow::model_folder
