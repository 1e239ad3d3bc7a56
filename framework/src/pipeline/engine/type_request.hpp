// What a user asks for with --type (and --bits, --group-size, --mode): one codec name, or a
// grouped family whose codec is chosen per tensor. Grouped encodings (MLX's) are named
// TYPE_gGROUP_SCALE, e.g. mlx_q4_g64_bf16: the short name mlx_q4 leaves the group size (64
// unless --group-size says otherwise) and the scales' type (the tensor's own float type: f32,
// f16 or bf16; f16 for other sources, as mlx-lm stores scales in the model's dtype) open.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "quantflow/container.hpp"

namespace quantflow::pipeline {

struct TypeRequest {
  std::string type;         // a codec name, a grouped family (mlx_q4) or "mlx" with bits/mode
  uint32_t bits = 0;        // 0: not given
  uint32_t group_size = 0;  // 0: not given
  std::string mode;         // "": not given

  bool empty() const { return type.empty(); }
  bool is_grouped() const { return bits != 0 || group_size != 0 || !mode.empty(); }
};

// A request for `type` alone (recipes and presets name types without --bits and the like).
inline TypeRequest type_named(std::string type) {
  TypeRequest request;
  request.type = std::move(type);
  return request;
}

inline constexpr uint32_t kDefaultGroupSize = 64;

// The family name the request stands for ("mlx_q4", "mlx_mxfp4", or the type itself);
// refuses --bits/--mode with a type other than "mlx", and mode/bits combinations MLX lacks.
Result<std::string> family_name(const TypeRequest& request);

// The codec for a tensor stored as `source`: an exact codec name, else the family's member for
// the group size and the source's float type. Null when there is none.
const CodecDescriptor* resolve_type(const CodecCatalog& catalog, const TypeRequest& request, const DType& source);

// What a grouped family quantizes by default, as mlx-lm decides by module type: the weights of
// Linear and Embedding layers (2-D) and of stacked experts (3-D); never a convolution, which its
// name says ("conv") or its rank (4-D and more). A recipe rule naming the tensor overrides this.
bool family_quantizes(const TensorInfo& tensor);

// Whether `name` is a codec or a grouped family with at least one loaded member.
bool is_known_type(const CodecCatalog& catalog, const std::vector<const CodecDescriptor*>& codecs,
                   const TypeRequest& request);

}  // namespace quantflow::pipeline
