// The dtypes an MLX affine group's scale and bias are stored in: the model's float dtype
// (mlx-quant.md §1). Each is a byte-array field read and written with load() / store(), rounded
// to nearest even when stored, as MLX's casts do.
#pragma once

#include <cstdint>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/fp16.hpp"

namespace quantflow::mlx_affine {

namespace kit = quantflow::codec_kit;

enum class ScaleType { f16, bf16, f32 };

// A bfloat16 field: the upper half of an fp32, little-endian. The kit has none because no
// ggml block stores one.
struct Bf16 {
  uint8_t bytes[2];
};
static_assert(sizeof(Bf16) == 2 && kit::kIsBlockLayout<Bf16>);

inline float load(const Bf16& b) { return kit::bf16_to_fp32(kit::get_u16(b.bytes)); }
inline void store(Bf16& b, float f) { kit::put_u16(b.bytes, kit::fp32_to_bf16(f)); }

// The field type and the name used in codec names and container ids ("f16", "bf16", "f32").
template <ScaleType S>
struct ScaleField;

template <>
struct ScaleField<ScaleType::f16> {
  using type = kit::Half;
  static constexpr const char* name = "f16";
};

template <>
struct ScaleField<ScaleType::bf16> {
  using type = Bf16;
  static constexpr const char* name = "bf16";
};

template <>
struct ScaleField<ScaleType::f32> {
  using type = kit::Float32;
  static constexpr const char* name = "f32";
};

constexpr const char* scale_type_name(ScaleType s) {
  switch (s) {
    case ScaleType::f16:
      return ScaleField<ScaleType::f16>::name;
    case ScaleType::bf16:
      return ScaleField<ScaleType::bf16>::name;
    case ScaleType::f32:
      return ScaleField<ScaleType::f32>::name;
  }
  return "";
}

}  // namespace quantflow::mlx_affine
