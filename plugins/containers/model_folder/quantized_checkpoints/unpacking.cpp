#include "unpacking.hpp"

#include <bit>
#include <cmath>

namespace quantflow::model_folder::unpacking {

namespace {

uint32_t element_bytes(std::string_view canonical_dtype) {
  if (canonical_dtype == "i32" || canonical_dtype == "f32") return 4;
  if (canonical_dtype == "f16" || canonical_dtype == "bf16") return 2;
  return 0;
}

uint16_t u16_at(std::span<const std::byte> bytes, uint64_t index) {
  const std::byte* p = bytes.data() + index * 2;
  return static_cast<uint16_t>(static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8);
}

// IEEE binary16 to float, exactly (every half is a float).
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu;
  const uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0) {
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // zero or subnormal
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7F800000u | mantissa << 13);
  return std::bit_cast<float>(sign | (exponent + 112u) << 23 | mantissa << 13);
}

void put_u16(std::byte* p, uint16_t v) {
  p[0] = static_cast<std::byte>(v & 0xFF);
  p[1] = static_cast<std::byte>(v >> 8);
}

void put_f32(std::byte* p, float v) {
  const auto bits = std::bit_cast<uint32_t>(v);
  for (int k = 0; k < 4; ++k) p[k] = static_cast<std::byte>(bits >> (8 * k));
}

// Bytes per zero-point block: fp16 scale, u16 zero, group_size codes of `bits`.
uint64_t block_bytes(const RowFormat& format) { return 4 + format.group_size * static_cast<uint64_t>(format.bits) / 8; }

}  // namespace

bool has_zero_point_codec(int64_t group_size) { return group_size == 32 || group_size == 64 || group_size == 128; }

std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
  uint64_t product;
  if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}

Status check_dtype(const std::string& label, const PartView& part, std::initializer_list<std::string_view> allowed) {
  const std::string dtype = canonical_dtype_name(part.dtype);
  std::string names;
  for (std::string_view name : allowed) {
    if (dtype == name) return {};
    names += (names.empty() ? "" : " or ") + std::string(name);
  }
  return bad_input(label + ": dtype " + dtype + ", expected " + names);
}

Status check_matrix(const std::string& label, const PartView& part, const char* layout) {
  if (part.shape.size() != 2)
    return bad_input(label + ": shape " + shape_to_string(part.shape) + ", expected 2 dimensions " + layout);
  if (part.shape[0] == 0 || part.shape[1] == 0)
    return bad_input(label + ": shape " + shape_to_string(part.shape) + " is empty, expected " + layout);
  return {};
}

Status check_shape(const std::string& label, const PartView& part, const Shape& expected, const std::string& why) {
  if (part.shape == expected) return {};
  return bad_input(label + ": shape " + shape_to_string(part.shape) + ", expected " + shape_to_string(expected) + " (" +
                   why + ")");
}

Status check_bytes(const std::string& label, const PartView& part) {
  const std::string dtype = canonical_dtype_name(part.dtype);
  std::optional<uint64_t> expected = element_bytes(dtype);
  for (uint64_t d : part.shape)
    if (expected) expected = checked_mul(*expected, d);
  if (expected && part.bytes.size() == *expected) return {};
  return bad_input(label + ": " + std::to_string(part.bytes.size()) + " bytes of data, expected " +
                   (expected ? std::to_string(*expected) : std::string("more than 2^64")) + " for " + dtype + " " +
                   shape_to_string(part.shape));
}

ScaleTable::ScaleTable(const PartView& scales, uint64_t out)
    : bytes_(scales.bytes),
      out_(out),
      element_bytes_(element_bytes(canonical_dtype_name(scales.dtype))),
      bf16_(canonical_dtype_name(scales.dtype) == "bf16") {}

uint16_t ScaleTable::f16_bits(uint64_t group, uint64_t o) const { return u16_at(bytes_, group * out_ + o); }

float ScaleTable::value(uint64_t group, uint64_t o) const {
  const uint64_t index = group * out_ + o;
  if (element_bytes_ == 4) return std::bit_cast<float>(word_at(bytes_, index));
  const uint16_t bits = u16_at(bytes_, index);
  return bf16_ ? std::bit_cast<float>(static_cast<uint32_t>(bits) << 16) : half_to_float(bits);
}

uint64_t row_bytes(const RowFormat& format) {
  return format.blocks ? format.in / format.group_size * block_bytes(format) : format.in * 4;
}

Result<UnpackedLayout> layout_of(const RowFormat& format, uint64_t out) {
  UnpackedLayout layout;
  if (format.blocks) {
    const std::string name = "zp_q" + std::to_string(format.bits) + "_g" + std::to_string(format.group_size);
    layout.dtype = DType{.name = name,
                         .block_elems = static_cast<uint32_t>(format.group_size),
                         .block_bytes = static_cast<uint32_t>(block_bytes(format)),
                         .kind = DTypeKind::quantized};
  } else {
    layout.dtype = DType{.name = "f32", .block_elems = 1, .block_bytes = 4, .kind = DTypeKind::floating};
  }
  layout.shape = {out, format.in};
  const auto elements = checked_mul(out, format.in);
  const auto n_bytes =
      elements ? checked_mul(*elements / layout.dtype.block_elems, layout.dtype.block_bytes) : std::nullopt;
  if (!n_bytes)
    return bad_input("the unpacked weight " + shape_to_string(layout.shape) + " needs more than 2^64 bytes");
  layout.n_bytes = *n_bytes;
  return layout;
}

void RowGroups::fill_scales(const ScaleTable& table, const RowFormat& format, uint64_t o) {
  if (format.blocks) {
    for (uint64_t g = 0; g < scale_bits.size(); ++g) scale_bits[g] = table.f16_bits(g, o);
  } else {
    for (uint64_t g = 0; g < scales.size(); ++g) scales[g] = table.value(g, o);
  }
}

void write_row(const RowFormat& format, const uint8_t* codes, const RowGroups& groups,
               std::span<const uint32_t> group_of, std::byte* dst) {
  if (!format.blocks) {
    for (uint64_t i = 0; i < format.in; ++i) {
      const uint64_t g = group_of.empty() ? i / format.group_size : group_of[i];
      put_f32(dst + i * 4, static_cast<float>(codes[i] - groups.zeros[g]) * groups.scales[g]);
    }
    return;
  }
  const uint64_t block = block_bytes(format);
  const uint64_t per_byte = 8 / static_cast<uint64_t>(format.bits);
  for (uint64_t g = 0; g < format.in / format.group_size; ++g) {
    std::byte* b = dst + g * block;
    put_u16(b, groups.scale_bits[g]);
    put_u16(b + 2, groups.zeros[g]);
    const uint8_t* q = codes + g * format.group_size;
    for (uint64_t k = 0; k < block - 4; ++k) {
      uint32_t packed = 0;
      for (uint64_t e = 0; e < per_byte; ++e) packed |= static_cast<uint32_t>(q[k * per_byte + e]) << (e * format.bits);
      b[4 + k] = static_cast<std::byte>(packed);
    }
  }
}

Status check_output_size(std::span<std::byte> out, const UnpackedLayout& layout) {
  if (out.size() == layout.n_bytes) return {};
  return internal_error("the output buffer holds " + std::to_string(out.size()) + " bytes, the unpacked " +
                        layout.dtype.name + " " + shape_to_string(layout.shape) + " weight needs " +
                        std::to_string(layout.n_bytes));
}

}  // namespace quantflow::model_folder::unpacking
