// What awq.cpp and gptq.cpp share: checks on the stored parts with messages naming the part and
// the expected against the actual dtype, shape or size; little-endian reads; the scales table;
// and the writing of one logical row as zero-point blocks or f32 values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quantized_checkpoints.hpp"

namespace quantflow::model_folder::unpacking {

// Group sizes the zero-point codecs exist for (zp_q{bits}_g{32,64,128}).
bool has_zero_point_codec(int64_t group_size);

// a * b, or nullopt when it does not fit in 64 bits.
std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b);

// `label` starts every message, e.g. "AWQ qweight".
Status check_dtype(const std::string& label, const PartView& part, std::initializer_list<std::string_view> allowed);
// Two non-zero dimensions; `layout` says which, e.g. "[in, out / 8]".
Status check_matrix(const std::string& label, const PartView& part, const char* layout);
// `why` spells out the expected shape, e.g. "[in / group_size, out] with in 64, group_size 32, out 16".
Status check_shape(const std::string& label, const PartView& part, const Shape& expected, const std::string& why);
// bytes.size() is what dtype and shape need.
Status check_bytes(const std::string& label, const PartView& part);

// Element `index` of an I32 part, as the unsigned word its bits form.
inline uint32_t word_at(std::span<const std::byte> bytes, uint64_t index) {
  const std::byte* p = bytes.data() + index * 4;
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// The scales part [n_groups, out] in F16, BF16 or F32.
class ScaleTable {
 public:
  ScaleTable(const PartView& scales, uint64_t out);
  bool is_f16() const { return element_bytes_ == 2 && !bf16_; }
  uint16_t f16_bits(uint64_t group, uint64_t o) const;  // F16 only
  float value(uint64_t group, uint64_t o) const;        // exact for every dtype

 private:
  std::span<const std::byte> bytes_;
  uint64_t out_;
  uint32_t element_bytes_;
  bool bf16_;
};

// The output encoding: zp_q{bits}_g{group_size} blocks, or f32 values.
struct RowFormat {
  bool blocks = false;
  int bits = 4;
  uint64_t group_size = 0;  // inputs per group (GPTQ's -1: in); the block size when blocks
  uint64_t in = 0;          // row length
};
Result<UnpackedLayout> layout_of(const RowFormat& format, uint64_t out);
uint64_t row_bytes(const RowFormat& format);

// Codes of up to 8 logical rows at once (each qweight word holds values of several rows).
class CodeStrip {
 public:
  explicit CodeStrip(uint64_t in) : in_(in), codes_(in * 8) {}
  uint8_t* row(uint64_t j) { return codes_.data() + j * in_; }
  const uint8_t* row(uint64_t j) const { return codes_.data() + j * in_; }

 private:
  uint64_t in_;
  std::vector<uint8_t> codes_;
};

// One logical row's groups: zero points, and scales as f16 bits (blocks) or floats (f32).
struct RowGroups {
  RowGroups(uint64_t n_groups, const RowFormat& format)
      : zeros(n_groups), scale_bits(format.blocks ? n_groups : 0), scales(format.blocks ? 0 : n_groups) {}
  std::vector<uint16_t> zeros;
  std::vector<uint16_t> scale_bits;
  std::vector<float> scales;
  void fill_scales(const ScaleTable& table, const RowFormat& format, uint64_t o);
};

// Writes one row: blocks { f16 scale; u16 zero; LSB-first codes } per group, or f32 values
// float(q - zero) * scale with the group of input i being group_of[i] (i / group_size when
// group_of is empty), the arithmetic of the zero-point codecs' decode.
void write_row(const RowFormat& format, const uint8_t* codes, const RowGroups& groups,
               std::span<const uint32_t> group_of, std::byte* dst);

Status check_output_size(std::span<std::byte> out, const UnpackedLayout& layout);

}  // namespace quantflow::model_folder::unpacking
