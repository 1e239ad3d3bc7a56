// Model folders built by hand for the tests of the "mlx" container: a small safetensors writer
// (the reference layout of safetensors.md §5, or MLX's unpadded one with data out of key order),
// config.json, and the value formats and packings of mlx-quant.md written from the document
// (§2.2 packs, E2M1 / E4M3FN / E8M0, f16 / bf16), so the tests compute expected floats on their own.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace qf_folder {

namespace fs = std::filesystem;

// One stored safetensors tensor.
struct Part {
  std::string name;
  std::string dtype;  // "U32", "F16", "BF16", "F32", "U8", "I32"
  std::vector<uint64_t> shape;
  std::vector<uint8_t> data;
};

enum class Layout {
  reference,  // data in key order, header padded to 8 bytes
  mlx,        // mx.save_safetensors: header unpadded, data in reverse key order
};

inline std::vector<uint8_t> safetensors_bytes(const std::vector<Part>& parts, Layout layout = Layout::reference) {
  std::vector<const Part*> order;
  for (const auto& p : parts) order.push_back(&p);
  if (layout == Layout::mlx) std::reverse(order.begin(), order.end());
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", layout == Layout::mlx ? "mlx" : "pt"}};
  uint64_t offset = 0;
  std::vector<uint8_t> data;
  for (const Part* p : order) {
    header[p->name] = {{"dtype", p->dtype}, {"shape", p->shape}, {"data_offsets", {offset, offset + p->data.size()}}};
    offset += p->data.size();
    data.insert(data.end(), p->data.begin(), p->data.end());
  }
  std::string text = header.dump();
  if (layout == Layout::reference) text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<uint8_t> out(8 + text.size() + data.size());
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + text.size(), data.data(), data.size());
  return out;
}

inline void write_file(const fs::path& path, const std::vector<uint8_t>& bytes) {
  qf_test::write_bytes(path, bytes.data(), bytes.size());
}

// A folder with config.json and model.safetensors.
inline fs::path write_folder(const fs::path& dir, const nlohmann::json& config, const std::vector<Part>& parts,
                             Layout layout = Layout::reference) {
  fs::create_directories(dir);
  qf_test::write_text(dir / "config.json", config.dump(2));
  write_file(dir / "model.safetensors", safetensors_bytes(parts, layout));
  return dir;
}

// ---- little-endian scalars ----
template <typename T>
void put_le(std::vector<uint8_t>& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i)));
}

inline uint32_t get_u32(const std::vector<uint8_t>& bytes, size_t at) {
  return bytes[at] | bytes[at + 1] << 8 | bytes[at + 2] << 16 | static_cast<uint32_t>(bytes[at + 3]) << 24;
}

inline std::vector<float> as_floats(const std::vector<uint8_t>& bytes) {
  std::vector<float> out(bytes.size() / 4);
  for (size_t i = 0; i < out.size(); ++i) out[i] = std::bit_cast<float>(get_u32(bytes, 4 * i));
  return out;
}

// ---- float formats ----
inline float f16_value(uint16_t h) {
  const int exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  const float sign = (h & 0x8000) ? -1.0f : 1.0f;
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -24);
  return sign * std::ldexp(static_cast<float>(1024 + mantissa), exponent - 25);
}
inline float bf16_value(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

// E2M1 (bit 3 = sign), mlx-quant.md §3.
inline float e2m1_value(uint8_t code) {
  static constexpr float kMagnitudes[] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  return (code & 8) ? -kMagnitudes[code & 7] : kMagnitudes[code & 7];
}
// E4M3FN with subnormals (exponent field 0: m * 2^-9); 0x7F decodes as 480 (no NaN).
inline float e4m3fn_value(uint8_t code) {
  const int exponent = (code >> 3) & 0xF, mantissa = code & 7;
  const float magnitude = exponent == 0 ? std::ldexp(static_cast<float>(mantissa), -9)
                                        : std::ldexp(static_cast<float>(8 + mantissa), exponent - 10);
  return (code & 0x80) ? -magnitude : magnitude;
}
inline float e8m0_value(uint8_t s) { return std::ldexp(1.0f, static_cast<int>(s) - 127); }

// ---- MLX packing, §2.2's table: 2/4/8 bits in u32 words, 3 and 6 bits in 3-byte packs, 5 in 5-byte packs ----
inline std::vector<uint8_t> mlx_pack(const std::vector<uint32_t>& codes, int bits) {
  const int per_pack = bits == 3 || bits == 5 ? 8 : bits == 6 ? 4 : 32 / bits;
  const int pack_bytes = bits == 3 || bits == 6 ? 3 : bits == 5 ? 5 : 4;
  std::vector<uint8_t> out;
  for (size_t start = 0; start < codes.size(); start += per_pack) {
    uint64_t pack = 0;  // at most 40 bits
    for (int k = 0; k < per_pack; ++k) pack |= static_cast<uint64_t>(codes[start + k]) << (k * bits);
    for (int b = 0; b < pack_bytes; ++b) out.push_back(static_cast<uint8_t>(pack >> (8 * b)));
  }
  return out;
}

// ---- random fields ----
// f16 / bf16 bit patterns of moderate magnitude (2^-6 .. 2^2), random sign: every one a normal number.
inline uint16_t random_f16(std::mt19937& rng) {
  return static_cast<uint16_t>((rng() & 0x8000) | (9 + rng() % 8) << 10 | (rng() & 0x3FF));
}
inline uint16_t random_bf16(std::mt19937& rng) {
  return static_cast<uint16_t>((rng() & 0x8000) | (121 + rng() % 8) << 7 | (rng() & 0x7F));
}
inline uint32_t random_f32(std::mt19937& rng) {
  return static_cast<uint32_t>((rng() & 0x80000000u) | (121u + rng() % 8) << 23 | (rng() & 0x7FFFFF));
}

// ---- MLX modules: stored parts and the values §2.3 / §3 give them ----
struct Module {
  std::vector<Part> parts;      // P.weight, P.scales[, P.biases]
  std::vector<uint64_t> shape;  // the logical weight's shape [..., N, K]
  std::vector<float> expected;  // its values, row-major
};

inline uint64_t elements(const std::vector<uint64_t>& shape) {
  uint64_t n = 1;
  for (const uint64_t d : shape) n *= d;
  return n;
}

inline std::vector<uint64_t> with_last(std::vector<uint64_t> shape, uint64_t last) {
  shape.back() = last;
  return shape;
}

// One scale or bias field of `dtype` (F16, BF16, F32): its bytes and value.
inline float random_field(const std::string& dtype, std::mt19937& rng, std::vector<uint8_t>& out) {
  if (dtype == "F32") {
    const uint32_t bits = random_f32(rng);
    put_le(out, bits);
    return std::bit_cast<float>(bits);
  }
  const uint16_t bits = dtype == "F16" ? random_f16(rng) : random_bf16(rng);
  put_le(out, bits);
  return dtype == "F16" ? f16_value(bits) : bf16_value(bits);
}

// An affine module with random codes, scales and biases: w = scale * q + bias in float32
// (product first, then the sum, no fused multiply-add).
inline Module affine_module(const std::string& path, const std::vector<uint64_t>& shape, int bits, int group,
                            const std::string& dtype, std::mt19937& rng) {
  Module m{.parts = {}, .shape = shape, .expected = {}};
  const uint64_t n = elements(shape), k = shape.back();
  std::vector<uint32_t> codes(n);
  for (auto& q : codes) q = rng() % (1u << bits);
  std::vector<uint8_t> scales, biases;
  for (uint64_t g = 0; g < n / group; ++g) {
    const float s = random_field(dtype, rng, scales), b = random_field(dtype, rng, biases);
    for (int e = 0; e < group; ++e) {
      const float scaled = s * static_cast<float>(codes[g * group + e]);
      m.expected.push_back(scaled + b);
    }
  }
  m.parts.push_back({path + ".weight", "U32", with_last(shape, k * bits / 32), mlx_pack(codes, bits)});
  m.parts.push_back({path + ".scales", dtype, with_last(shape, k / group), scales});
  m.parts.push_back({path + ".biases", dtype, with_last(shape, k / group), biases});
  return m;
}

// A floating-mode module (mxfp4, mxfp8, nvfp4) with random codes and U8 scales (the mx
// exponents span 2^-17 .. 2^12 and include one 2^-127 group): w = scale * value(code).
inline Module fp_module(const std::string& path, const std::vector<uint64_t>& shape, const std::string& mode,
                        std::mt19937& rng) {
  Module m{.parts = {}, .shape = shape, .expected = {}};
  const int bits = mode == "mxfp8" ? 8 : 4, group = mode == "nvfp4" ? 16 : 32;
  const uint64_t n = elements(shape), k = shape.back();
  std::vector<uint32_t> codes(n);
  for (auto& q : codes) q = rng() % (1u << bits);
  std::vector<uint8_t> scales;
  for (uint64_t g = 0; g < n / group; ++g) {
    const uint8_t s = mode == "nvfp4" ? rng() % 0x7F : g == 1 ? 0 : 110 + rng() % 30;
    scales.push_back(s);
    const float scale = mode == "nvfp4" ? e4m3fn_value(s) : e8m0_value(s);
    for (int e = 0; e < group; ++e) {
      const uint32_t q = codes[g * group + e];
      m.expected.push_back(scale *
                           (bits == 8 ? e4m3fn_value(static_cast<uint8_t>(q)) : e2m1_value(static_cast<uint8_t>(q))));
    }
  }
  m.parts.push_back({path + ".weight", "U32", with_last(shape, k * bits / 32), mlx_pack(codes, bits)});
  m.parts.push_back({path + ".scales", "U8", with_last(shape, k / group), scales});
  return m;
}

// A plain tensor of `dtype` with random values (f16/bf16/f32 fields).
inline Module plain_tensor(const std::string& name, const std::vector<uint64_t>& shape, const std::string& dtype,
                           std::mt19937& rng) {
  Module m{.parts = {}, .shape = shape, .expected = {}};
  std::vector<uint8_t> data;
  for (uint64_t i = 0; i < elements(shape); ++i) m.expected.push_back(random_field(dtype, rng, data));
  m.parts.push_back({name, dtype, shape, data});
  return m;
}

inline void append_parts(std::vector<Part>& to, const Module& m) {
  to.insert(to.end(), m.parts.begin(), m.parts.end());
}

// ---- stored parts back to values ----
// Code e of an LSB-first bit stream (§2.2: element e at bits [e*bits, (e+1)*bits)).
inline uint32_t stream_code(const std::vector<uint8_t>& bytes, uint64_t e, int bits) {
  uint32_t q = 0;
  for (int b = 0; b < bits; ++b) {
    const uint64_t bit = e * bits + b;
    q |= static_cast<uint32_t>((bytes[bit / 8] >> (bit % 8)) & 1) << b;
  }
  return q;
}

// Field i of a scales / biases tensor stored as `type` (f16, bf16, f32, u8 as a raw byte).
inline float field_value(const qf_test::StoredTensor& t, uint64_t i) {
  if (t.type == "f32") return std::bit_cast<float>(get_u32(t.bytes, 4 * i));
  if (t.type == "u8") return static_cast<float>(t.bytes[i]);
  const auto bits = static_cast<uint16_t>(t.bytes[2 * i] | t.bytes[2 * i + 1] << 8);
  return t.type == "f16" ? f16_value(bits) : bf16_value(bits);
}

// The values §2.3 (affine) or §3 give the stored parts of `module` (its .weight, .scales and
// .biases in `stored`) for `mode` with `bits` and `group`.
inline std::vector<float> module_values(const std::map<std::string, qf_test::StoredTensor>& stored,
                                        const std::string& module, const std::string& mode, int bits, int group) {
  const auto& weight = stored.at(module + ".weight");
  const auto& scales = stored.at(module + ".scales");
  const uint64_t n = weight.bytes.size() * 8 / bits;
  std::vector<float> out(n);
  for (uint64_t e = 0; e < n; ++e) {
    const uint64_t g = e / group;
    const uint32_t q = stream_code(weight.bytes, e, bits);
    if (mode == "affine") {
      const float scaled = field_value(scales, g) * static_cast<float>(q);
      out[e] = scaled + field_value(stored.at(module + ".biases"), g);
      continue;
    }
    const auto s = static_cast<uint8_t>(scales.bytes[g]);
    const float scale = mode == "nvfp4" ? e4m3fn_value(s) : e8m0_value(s);
    out[e] = scale * (bits == 8 ? e4m3fn_value(static_cast<uint8_t>(q)) : e2m1_value(static_cast<uint8_t>(q)));
  }
  return out;
}

// ---- running the CLI ----
inline qf_test::CommandResult cli_ok(const std::string& args) {
  auto r = qf_test::cli(args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, args << "\n" << r.err << r.out);
  return r;
}

// The values of every tensor of `folder` after `quantflow convert FOLDER OUT --type f32`.
inline std::map<std::string, std::vector<float>> decoded(const fs::path& folder) {
  qf_test::TempDir tmp;
  const fs::path out = tmp / "decoded.safetensors";
  cli_ok("convert -q " + qf_test::quote(folder) + " " + qf_test::quote(out) + " --type f32");
  std::map<std::string, std::vector<float>> values;
  for (const auto& [name, tensor] : qf_test::tensors_of(out)) {
    if (tensor.type == "f32") {
      values[name] = as_floats(tensor.bytes);
      continue;
    }
    // Vectors keep their encoding (--type re-encodes matrices and decodes quantized tensors).
    BOOST_REQUIRE_MESSAGE(tensor.type == "f16" || tensor.type == "bf16", name << " is " << tensor.type);
    for (size_t i = 0; i + 1 < tensor.bytes.size(); i += 2) {
      const auto bits = static_cast<uint16_t>(tensor.bytes[i] | tensor.bytes[i + 1] << 8);
      values[name].push_back(tensor.type == "f16" ? f16_value(bits) : bf16_value(bits));
    }
  }
  return values;
}

inline nlohmann::json read_json(const fs::path& path) {
  const auto bytes = qf_test::read_bytes(path);
  return nlohmann::json::parse(bytes.begin(), bytes.end());
}

// Checks two float vectors bit for bit, naming the first few differences.
inline void check_same_floats(const std::vector<float>& got, const std::vector<float>& want) {
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  int reported = 0;
  for (size_t i = 0; i < got.size() && reported < 8; ++i)
    if (std::bit_cast<uint32_t>(got[i]) != std::bit_cast<uint32_t>(want[i])) {
      BOOST_ERROR("element " << i << ": got " << got[i] << ", want " << want[i]);
      ++reported;
    }
}

}  // namespace qf_folder
