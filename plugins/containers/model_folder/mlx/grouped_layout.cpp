#include "mlx/grouped_layout.hpp"

#include <cstring>

namespace quantflow::model_folder {

// A row's codes are the concatenation of its groups' codes (groups are whole numbers of
// 32-bit packs), so group g of the flattened tensor owns bytes [g * code_bytes, ...).
void interleave(const GroupedLayout& layout, std::span<const std::byte> weight, std::span<const std::byte> scales,
                std::span<const std::byte> biases, std::span<std::byte> blocks) {
  std::byte* out = blocks.data();
  const size_t s = layout.scale_bytes;
  for (uint64_t g = 0; g < layout.groups(); ++g) {
    std::memcpy(out, scales.data() + g * s, s);
    out += s;
    if (layout.biases) {
      std::memcpy(out, biases.data() + g * s, s);
      out += s;
    }
    std::memcpy(out, weight.data() + g * layout.code_bytes, layout.code_bytes);
    out += layout.code_bytes;
  }
}

void deinterleave(const GroupedLayout& layout, std::span<const std::byte> blocks, std::span<std::byte> weight,
                  std::span<std::byte> scales, std::span<std::byte> biases) {
  const std::byte* in = blocks.data();
  const size_t s = layout.scale_bytes;
  for (uint64_t g = 0; g < layout.groups(); ++g) {
    std::memcpy(scales.data() + g * s, in, s);
    in += s;
    if (layout.biases) {
      std::memcpy(biases.data() + g * s, in, s);
      in += s;
    }
    std::memcpy(weight.data() + g * layout.code_bytes, in, layout.code_bytes);
    in += layout.code_bytes;
  }
}

}  // namespace quantflow::model_folder
