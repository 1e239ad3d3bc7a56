// GPTQ (AutoGPTQ / GPTQModel, mlx-quant.md §7): qweight packed along the input dimension,
// qzeros along the output dimension, both LSB-first with 32 / bits values per word; v1 zeros
// are stored minus one (wrapping), v2 as they are; g_idx maps each input to its group.
#include <algorithm>
#include <string>
#include <vector>

#include "quantized_checkpoints.hpp"
#include "unpacking.hpp"

namespace quantflow::model_folder {

namespace {

using namespace unpacking;

constexpr uint64_t kStripRows = 8;  // logical rows unpacked together: 8 adjacent qweight words

struct GptqGeometry {
  RowFormat format;
  uint64_t out = 0;
  uint64_t n_groups = 0;
  uint64_t per_word = 0;           // 32 / bits
  std::vector<uint32_t> group_of;  // g_idx when it is not i / group_size; empty otherwise
};

// Reads g_idx, checking every value; keeps it only when some input is out of the plain order.
Status read_g_idx(const PartView& g_idx, GptqGeometry& geo) {
  QF_RETURN_IF_ERROR(check_bytes("GPTQ g_idx", g_idx));
  bool in_order = true;
  std::vector<uint32_t> group_of(geo.format.in);
  for (uint64_t i = 0; i < geo.format.in; ++i) {
    const auto g = static_cast<int32_t>(word_at(g_idx.bytes, i));
    if (g < 0 || static_cast<uint64_t>(g) >= geo.n_groups)
      return bad_input("GPTQ g_idx: value " + std::to_string(g) + " at input " + std::to_string(i) +
                       " is not a group: scales has " + std::to_string(geo.n_groups) + " groups");
    group_of[i] = static_cast<uint32_t>(g);
    in_order = in_order && group_of[i] == i / geo.format.group_size;
  }
  if (!in_order) geo.group_of = std::move(group_of);
  return {};
}

Result<GptqGeometry> gptq_geometry(const QuantizationConfig& config, const QuantizedLinear& parts) {
  if (config.method != QuantMethod::gptq) return internal_error("GPTQ unpacking was given an AWQ config");
  if ((config.bits != 2 && config.bits != 4 && config.bits != 8) || config.group_size == 0 || config.group_size < -1)
    return internal_error("GPTQ unpacking was given bits " + std::to_string(config.bits) + ", group_size " +
                          std::to_string(config.group_size) +
                          " (parse_quantization_config allows 2, 4, 8 and > 0 or -1)");
  QF_RETURN_IF_ERROR(check_dtype("GPTQ qweight", parts.qweight, {"i32"}));
  QF_RETURN_IF_ERROR(check_matrix("GPTQ qweight", parts.qweight, "[in * bits / 32, out]"));
  GptqGeometry geo;
  geo.per_word = 32 / static_cast<uint64_t>(config.bits);
  const auto in = checked_mul(parts.qweight.shape[0], geo.per_word);
  if (!in) return bad_input("GPTQ qweight: shape " + shape_to_string(parts.qweight.shape) + " is too large");
  geo.out = parts.qweight.shape[1];
  const uint64_t gs = config.group_size == -1 ? *in : static_cast<uint64_t>(config.group_size);
  geo.n_groups = (*in + gs - 1) / gs;
  const std::string dims = " with in " + std::to_string(*in) + " (qweight rows * 32 / bits " +
                           std::to_string(config.bits) + "), " + std::to_string(geo.n_groups) + " groups, out " +
                           std::to_string(geo.out);

  QF_RETURN_IF_ERROR(check_dtype("GPTQ scales", parts.scales, {"f16", "bf16", "f32"}));
  QF_RETURN_IF_ERROR(check_shape("GPTQ scales", parts.scales, {geo.n_groups, geo.out}, "[groups, out]" + dims));
  if (parts.qzeros) {
    QF_RETURN_IF_ERROR(check_dtype("GPTQ qzeros", *parts.qzeros, {"i32"}));
    if (geo.out % geo.per_word != 0)
      return bad_input("GPTQ qzeros: out " + std::to_string(geo.out) + " is not a multiple of the " +
                       std::to_string(geo.per_word) + " zero points per word at " + std::to_string(config.bits) +
                       " bits");
    QF_RETURN_IF_ERROR(check_shape("GPTQ qzeros", *parts.qzeros, {geo.n_groups, geo.out / geo.per_word},
                                   "[groups, out * bits / 32]" + dims));
  } else if (!config.sym) {
    return bad_input("GPTQ qzeros: missing, but the config has sym false (only symmetric checkpoints may omit it)");
  }
  geo.format = {.blocks = false, .bits = config.bits, .group_size = gs, .in = *in};
  if (parts.g_idx) {
    QF_RETURN_IF_ERROR(check_dtype("GPTQ g_idx", *parts.g_idx, {"i32"}));
    QF_RETURN_IF_ERROR(check_shape("GPTQ g_idx", *parts.g_idx, {*in}, "[in]" + dims));
    QF_RETURN_IF_ERROR(read_g_idx(*parts.g_idx, geo));
  } else if (config.desc_act) {
    return bad_input(
        "GPTQ g_idx: missing, but the config has desc_act true (activation order needs each input's group)");
  }
  geo.format.blocks = geo.group_of.empty() && has_zero_point_codec(config.group_size) && *in % gs == 0 &&
                      ScaleTable(parts.scales, geo.out).is_f16();
  return geo;
}

}  // namespace

Result<UnpackedLayout> gptq_layout(const QuantizationConfig& config, const QuantizedLinear& parts) {
  QF_ASSIGN_OR_RETURN(const GptqGeometry geo, gptq_geometry(config, parts));
  return layout_of(geo.format, geo.out);
}

Status unpack_gptq(const QuantizationConfig& config, const QuantizedLinear& parts, std::span<std::byte> out) {
  QF_ASSIGN_OR_RETURN(const GptqGeometry geo, gptq_geometry(config, parts));
  QF_ASSIGN_OR_RETURN(const UnpackedLayout layout, layout_of(geo.format, geo.out));
  QF_RETURN_IF_ERROR(check_output_size(out, layout));
  QF_RETURN_IF_ERROR(check_bytes("GPTQ qweight", parts.qweight));
  QF_RETURN_IF_ERROR(check_bytes("GPTQ scales", parts.scales));
  if (parts.qzeros) QF_RETURN_IF_ERROR(check_bytes("GPTQ qzeros", *parts.qzeros));

  const RowFormat& format = geo.format;
  const auto bits = static_cast<uint32_t>(config.bits);
  const uint32_t mask = (1u << bits) - 1;
  // v1 stores the real zero minus one; adding it back after masking turns a stored 2^bits - 1
  // into 2^bits, which is what v1 checkpoints mean (the packer's wrap-around).
  const uint32_t zero_offset = config.checkpoint_format == GptqCheckpointFormat::v1 ? 1 : 0;
  const auto symmetric_zero = static_cast<uint16_t>(1u << (bits - 1));
  const uint64_t qweight_rows = parts.qweight.shape[0];
  const uint64_t zero_words = geo.out / geo.per_word;
  const ScaleTable scales(parts.scales, geo.out);
  const uint64_t out_row_bytes = row_bytes(format);
  CodeStrip strip(format.in);
  RowGroups groups(geo.n_groups, format);
  for (uint64_t o0 = 0; o0 < geo.out; o0 += kStripRows) {
    const uint64_t width = std::min(kStripRows, geo.out - o0);
    for (uint64_t r = 0; r < qweight_rows; ++r)
      for (uint64_t j = 0; j < width; ++j) {
        const uint32_t word = word_at(parts.qweight.bytes, r * geo.out + o0 + j);
        for (uint64_t k = 0; k < geo.per_word; ++k)
          strip.row(j)[r * geo.per_word + k] = static_cast<uint8_t>(word >> (bits * k) & mask);
      }
    for (uint64_t j = 0; j < width; ++j) {
      const uint64_t o = o0 + j;
      for (uint64_t g = 0; g < geo.n_groups; ++g) {
        if (!parts.qzeros) {
          groups.zeros[g] = symmetric_zero;
          continue;
        }
        const uint32_t word = word_at(parts.qzeros->bytes, g * zero_words + o / geo.per_word);
        groups.zeros[g] = static_cast<uint16_t>((word >> (bits * (o % geo.per_word)) & mask) + zero_offset);
      }
      groups.fill_scales(scales, format, o);
      write_row(format, strip.row(j), groups, geo.group_of, out.data() + o * out_row_bytes);
    }
  }
  return {};
}

}  // namespace quantflow::model_folder
