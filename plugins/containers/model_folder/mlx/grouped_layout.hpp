// MLX stores a quantized module as up to three tensors (weight codes, scales, biases); its
// codecs see one tensor of blocks {scale, bias, codes} per group. These move bytes between
// the two layouts: nothing is decoded, every byte is kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace quantflow::model_folder {

struct GroupedLayout {
  uint64_t rows = 0;            // rows of the logical tensor (every dimension but the last)
  uint64_t groups_per_row = 0;  // row length / group size
  uint32_t code_bytes = 0;      // packed codes of one group: group_size * bits / 8
  uint32_t scale_bytes = 0;     // one scale (and one bias): 1, 2 or 4
  bool biases = false;          // affine mode stores a bias per group

  uint64_t block_bytes() const { return scale_bytes * (biases ? 2u : 1u) + code_bytes; }
  uint64_t groups() const { return rows * groups_per_row; }
  uint64_t weight_bytes() const { return groups() * code_bytes; }
  uint64_t scales_bytes() const { return groups() * scale_bytes; }
  uint64_t blocks_bytes() const { return groups() * block_bytes(); }
};

// MLX tensors -> codec blocks. Sizes must match the layout (the caller checked the shapes);
// `biases` is empty when the layout has none.
void interleave(const GroupedLayout& layout, std::span<const std::byte> weight, std::span<const std::byte> scales,
                std::span<const std::byte> biases, std::span<std::byte> blocks);

// Codec blocks -> MLX tensors.
void deinterleave(const GroupedLayout& layout, std::span<const std::byte> blocks, std::span<std::byte> weight,
                  std::span<std::byte> scales, std::span<std::byte> biases);

}  // namespace quantflow::model_folder
