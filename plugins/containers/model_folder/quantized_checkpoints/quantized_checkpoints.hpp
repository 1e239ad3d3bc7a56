// AutoAWQ (GEMM) and GPTQ checkpoints as the model-folder reader sees them (mlx-quant.md §6,
// §7): the quantization config, and the unpacking of one quantized Linear's stored parts
// (qweight, qzeros, scales, g_idx) into its logical weight [out, in], rows = output features.
// Pure functions over JSON values and byte spans: no file I/O. Errors are bad_input with a
// message naming the method and part ("GPTQ qzeros: ..."); the caller adds file and tensor.
// (internal_error only for a caller's mistake: a config parse_quantization_config would not
// return, or an output buffer of the wrong size.)
//
// The logical weight is stored as zero-point blocks zp_q{bits}_g{gs} (plugins/codecs/zero_point:
// { fp16 scale; u16 zero; LSB-first codes }, value (q - zero) * scale) when the groups are
// contiguous runs of 32, 64 or 128 inputs and the scales are F16; otherwise as f32 values
// W[o][i] = scale * float(q - zero), computed in float32 exactly as the codec decodes a block
// (so both forms give the same floats bit for bit). BF16 and F32 scales always give f32 output:
// the output encoding then follows from dtypes and shapes alone, never from scale values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "quantflow/dtype.hpp"
#include "quantflow/status.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow::model_folder {

enum class QuantMethod { awq, gptq };

// GPTQ's checkpoint_format: "gptq" (v1: stored zero = real zero - 1) or "gptq_v2" (real zero).
enum class GptqCheckpointFormat { v1, v2 };

// The decoding-relevant keys of a `quantization_config` block (config.json) or a
// `quantize_config.json`; tuning keys (damp_percent, true_sequential, ...) are ignored.
struct QuantizationConfig {
  QuantMethod method = QuantMethod::gptq;
  int bits = 4;            // AWQ: 4; GPTQ: 2, 4 or 8
  int group_size = 128;    // inputs per group; GPTQ's -1 = one group over all inputs
  bool zero_point = true;  // AWQ: false = no qzeros tensor, every zero is 8
  bool desc_act = false;   // GPTQ: activation order, g_idx is then required
  bool sym = true;         // GPTQ: a symmetric checkpoint may omit qzeros (zero 2^(bits-1))
  GptqCheckpointFormat checkpoint_format = GptqCheckpointFormat::v1;
};

// Reads and checks the block. `method_if_absent` is used when the block has no quant_method
// (AutoGPTQ's quantize_config.json before quant_method was written: pass QuantMethod::gptq).
// Defaults as AutoAWQ and AutoGPTQ write them: zero_point true, version "gemm", desc_act
// false, sym true, checkpoint_format "gptq"; bits and group_size are required. Refused: other
// methods, AWQ versions other than GEMM (gemv, gemv_fast, marlin, exllama, ...), AWQ bits other
// than 4, GPTQ 3-bit (its values straddle 32-bit words), GPTQ formats other than gptq and
// gptq_v2 (marlin, bitblas, ...), and values of the wrong JSON type or out of range.
Result<QuantizationConfig> parse_quantization_config(const nlohmann::json& block,
                                                     std::optional<QuantMethod> method_if_absent = std::nullopt);

// One stored tensor of a quantized Linear. dtype is the name the safetensors reader gives
// (TensorInfo::dtype.name: "i32", "f16", "bf16", "f32"; matched case-insensitively); bytes
// are the tensor's data, little-endian, and may be empty where only the layout is asked for.
struct PartView {
  std::string_view dtype;
  Shape shape;
  std::span<const std::byte> bytes;
};

// The parts of module P: P.qweight, P.qzeros (absent: AWQ zero_point false, or GPTQ sym),
// P.scales, P.g_idx (GPTQ only, optional). P.bias is a plain tensor and not part of this.
struct QuantizedLinear {
  PartView qweight;
  std::optional<PartView> qzeros;
  PartView scales;
  std::optional<PartView> g_idx;
};

// What unpacking produces: the encoding (zp_q{bits}_g{gs} with the codec's geometry, or f32),
// the logical shape {out, in} and the byte count, dtype.bytes_for(out * in).
struct UnpackedLayout {
  DType dtype;
  Shape shape;
  uint64_t n_bytes = 0;
};

// The layout of the unpacked weight, after checking every part's dtype and shape against the
// config (and, for GPTQ, g_idx's values, whose bytes it reads; no other part's bytes are read).
// For the reader's tensor list, before any weight data is read.
Result<UnpackedLayout> awq_layout(const QuantizationConfig& config, const QuantizedLinear& parts);
Result<UnpackedLayout> gptq_layout(const QuantizationConfig& config, const QuantizedLinear& parts);
// Either of the above, by config.method.
Result<UnpackedLayout> unpacked_layout(const QuantizationConfig& config, const QuantizedLinear& parts);

// Writes the unpacked weight into `out`, which must be exactly the layout's n_bytes (checked).
// Checks everything the layout checks plus every part's byte count. Memory: `out` plus
// scratch of 8 rows of codes (8 * in bytes), a row's group zeros and scales, and a scattered
// g_idx (4 * in bytes).
//
// AWQ GEMM: q[i][8c+j] = (qweight[i][c] >> shift_j) & 15, shift = [0,16,4,20,8,24,12,28],
// zero likewise from qzeros[i / gs][c] (8 without qzeros), scale = scales[i / gs][o].
// GPTQ: q[f*r+k][o] = (qweight[r][o] >> bits*k) & mask (f = 32 / bits), zero from
// qzeros[g][o / f] at bits*(o % f), plus 1 for v1 after masking (a stored 15 is 16 at 4 bits),
// scale = scales[g][o], g = g_idx[i] (i / gs without g_idx). Words are read as unsigned.
Status unpack_awq(const QuantizationConfig& config, const QuantizedLinear& parts, std::span<std::byte> out);
Status unpack_gptq(const QuantizationConfig& config, const QuantizedLinear& parts, std::span<std::byte> out);
// Either of the above, by config.method.
Status unpack(const QuantizationConfig& config, const QuantizedLinear& parts, std::span<std::byte> out);

}  // namespace quantflow::model_folder
