// The AutoAWQ (GEMM) and GPTQ unpackers of the model-folder container
// (plugins/containers/model_folder/quantized_checkpoints), on tensors packed here from
// mlx-quant.md §6 and §7: hand-worked words, then random logical weights packed by this file's
// own packers, whose unpacked values must equal W[o][i] = float(q - zero) * scale bit for bit
// (decoded through the zp codec plugin when the output is blocks). Then every refusal's message.
// One file for the config parser and both methods, as the brief asks (one test executable).
#include <bit>
#include <random>

#include <nlohmann/json.hpp>

#include "golden/format_bounds.hpp"
#include "quantized_checkpoints.hpp"
#include "support/whole_tensor_codec.hpp"

namespace mf = quantflow::model_folder;
using quantflow::Shape;

namespace {

std::vector<std::byte> le_bytes(const std::vector<uint32_t>& words) {
  std::vector<std::byte> out;
  for (uint32_t w : words)
    for (int k = 0; k < 4; ++k) out.push_back(static_cast<std::byte>(w >> (8 * k)));
  return out;
}

std::vector<std::byte> le_bytes(const std::vector<uint16_t>& halves) {
  std::vector<std::byte> out;
  for (uint16_t h : halves)
    for (int k = 0; k < 2; ++k) out.push_back(static_cast<std::byte>(h >> (8 * k)));
  return out;
}

float half_value(uint16_t h) { return static_cast<float>(qf_bounds::half_to_double(h)); }

// A quantized weight as the formula sees it: q[i][o], real zero[g][o], f16 scale[g][o], g_idx[i].
struct Logical {
  int bits = 4;
  uint64_t in = 0, out = 0, n_groups = 0;
  std::vector<uint8_t> q;
  std::vector<uint16_t> zero, scale;
  std::vector<uint32_t> g_idx;

  float expected(uint64_t o, uint64_t i) const {
    const uint64_t g = g_idx[i];
    return static_cast<float>(int{q[i * out + o]} - int{zero[g * out + o]}) * half_value(scale[g * out + o]);
  }
};

// Random codes, zeros in [zero_lo, zero_hi], positive normal scales; g_idx = i / gs.
Logical random_logical(int bits, uint64_t in, uint64_t out, uint64_t gs, int zero_lo, int zero_hi, uint32_t seed) {
  std::mt19937 rng(seed);
  Logical l;
  l.bits = bits;
  l.in = in;
  l.out = out;
  l.n_groups = (in + gs - 1) / gs;
  for (uint64_t k = 0; k < in * out; ++k) l.q.push_back(static_cast<uint8_t>(rng() % (1u << bits)));
  for (uint64_t k = 0; k < l.n_groups * out; ++k) {
    l.zero.push_back(static_cast<uint16_t>(zero_lo + static_cast<int>(rng() % (zero_hi - zero_lo + 1))));
    l.scale.push_back(static_cast<uint16_t>(0x1400 + rng() % 0x1800));
  }
  for (uint64_t i = 0; i < in; ++i) l.g_idx.push_back(static_cast<uint32_t>(i / gs));
  return l;
}

// Stored tensors; parts() views them.
struct Checkpoint {
  std::vector<std::byte> qweight, qzeros, scales, g_idx;
  Shape qweight_shape, qzeros_shape, scales_shape, g_idx_shape;
  std::string qweight_dtype = "i32", qzeros_dtype = "i32", scales_dtype = "f16", g_idx_dtype = "i32";
  bool has_qzeros = true, has_g_idx = false;

  mf::QuantizedLinear parts() const {
    mf::QuantizedLinear p;
    p.qweight = {qweight_dtype, qweight_shape, qweight};
    p.scales = {scales_dtype, scales_shape, scales};
    if (has_qzeros) p.qzeros = mf::PartView{qzeros_dtype, qzeros_shape, qzeros};
    if (has_g_idx) p.g_idx = mf::PartView{g_idx_dtype, g_idx_shape, g_idx};
    return p;
  }
};

// §6: logical column 8c + j of word c at bit offset kAwqShift[j].
constexpr int kAwqShift[8] = {0, 16, 4, 20, 8, 24, 12, 28};

Checkpoint awq_pack(const Logical& l, bool with_qzeros = true) {
  Checkpoint c;
  const uint64_t words = l.out / 8;
  std::vector<uint32_t> qweight(l.in * words, 0), qzeros(l.n_groups * words, 0);
  for (uint64_t i = 0; i < l.in; ++i)
    for (uint64_t o = 0; o < l.out; ++o) qweight[i * words + o / 8] |= uint32_t{l.q[i * l.out + o]} << kAwqShift[o % 8];
  for (uint64_t g = 0; g < l.n_groups; ++g)
    for (uint64_t o = 0; o < l.out; ++o)
      qzeros[g * words + o / 8] |= uint32_t{l.zero[g * l.out + o]} << kAwqShift[o % 8];
  c.qweight = le_bytes(qweight);
  c.qweight_shape = {l.in, words};
  c.qzeros = le_bytes(qzeros);
  c.qzeros_shape = {l.n_groups, words};
  c.has_qzeros = with_qzeros;
  c.scales = le_bytes(l.scale);
  c.scales_shape = {l.n_groups, l.out};
  return c;
}

// §7: values k of a word at bits * k; v1 stores zero - 1 (wrapping within the mask).
Checkpoint gptq_pack(const Logical& l, bool v1) {
  Checkpoint c;
  const uint64_t f = 32 / l.bits;
  const uint32_t mask = (1u << l.bits) - 1;
  std::vector<uint32_t> qweight(l.in / f * l.out, 0), qzeros(l.n_groups * (l.out / f), 0);
  for (uint64_t i = 0; i < l.in; ++i)
    for (uint64_t o = 0; o < l.out; ++o)
      qweight[i / f * l.out + o] |= uint32_t{l.q[i * l.out + o]} << (l.bits * (i % f));
  for (uint64_t g = 0; g < l.n_groups; ++g)
    for (uint64_t o = 0; o < l.out; ++o) {
      const uint32_t stored = (l.zero[g * l.out + o] - (v1 ? 1u : 0u)) & mask;
      qzeros[g * (l.out / f) + o / f] |= stored << (l.bits * (o % f));
    }
  c.qweight = le_bytes(qweight);
  c.qweight_shape = {l.in / f, l.out};
  c.qzeros = le_bytes(qzeros);
  c.qzeros_shape = {l.n_groups, l.out / f};
  c.scales = le_bytes(l.scale);
  c.scales_shape = {l.n_groups, l.out};
  c.g_idx = le_bytes(l.g_idx);
  c.g_idx_shape = {l.in};
  return c;
}

mf::QuantizationConfig awq_config(int gs, bool zero_point = true) {
  return {.method = mf::QuantMethod::awq, .bits = 4, .group_size = gs, .zero_point = zero_point};
}

mf::QuantizationConfig gptq_config(int bits, int gs, bool v1, bool sym = false) {
  return {.method = mf::QuantMethod::gptq,
          .bits = bits,
          .group_size = gs,
          .sym = sym,
          .checkpoint_format = v1 ? mf::GptqCheckpointFormat::v1 : mf::GptqCheckpointFormat::v2};
}

struct Unpacked {
  mf::UnpackedLayout layout;
  std::vector<std::byte> bytes;
};

Unpacked unpack(const mf::QuantizationConfig& config, const Checkpoint& c) {
  auto layout = mf::unpacked_layout(config, c.parts());
  BOOST_REQUIRE_MESSAGE(layout.ok(), layout.status().to_string());
  Unpacked u{*layout, std::vector<std::byte>(layout->n_bytes, std::byte{0xAA})};
  const auto s = mf::unpack(config, c.parts(), u.bytes);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
  return u;
}

// The logical values: f32 bytes as they are, blocks through the codec plugin of that name,
// whose geometry must be the layout's.
std::vector<float> values_of(const Unpacked& u) {
  const uint64_t out = u.layout.shape[0], in = u.layout.shape[1];
  std::vector<float> v(out * in);
  if (u.layout.dtype.name == "f32") {
    BOOST_REQUIRE_EQUAL(u.bytes.size(), v.size() * 4);
    std::memcpy(v.data(), u.bytes.data(), u.bytes.size());
    return v;
  }
  const auto& codec = qf_test::codec_named(u.layout.dtype.name.c_str());
  BOOST_REQUIRE(quantflow::dtype_of(codec) == u.layout.dtype);
  BOOST_REQUIRE_EQUAL(codec.decode(u.bytes.data(), v.data(), static_cast<int64_t>(out), static_cast<int64_t>(in)),
                      QF_CODEC_OK);
  return v;
}

void check_values(const Unpacked& u, const Logical& l, const std::string& dtype) {
  BOOST_CHECK_EQUAL(u.layout.dtype.name, dtype);
  BOOST_REQUIRE(u.layout.shape == (Shape{l.out, l.in}));
  const auto v = values_of(u);
  size_t mismatches = 0;
  for (uint64_t o = 0; o < l.out; ++o)
    for (uint64_t i = 0; i < l.in; ++i) {
      const float want = l.expected(o, i);
      if (std::bit_cast<uint32_t>(v[o * l.in + i]) != std::bit_cast<uint32_t>(want) && ++mismatches <= 5)
        BOOST_ERROR("W[" << o << "][" << i << "] = " << v[o * l.in + i] << ", want " << want);
    }
  BOOST_CHECK_EQUAL(mismatches, 0u);
}

std::vector<uint8_t> bytes_u8(const std::vector<std::byte>& b, size_t from, size_t n) {
  std::vector<uint8_t> out(n);
  std::memcpy(out.data(), b.data() + from, n);
  return out;
}

std::string layout_error(const mf::QuantizationConfig& config, const Checkpoint& c) {
  auto layout = mf::unpacked_layout(config, c.parts());
  BOOST_REQUIRE(!layout.ok());
  return layout.status().message();
}

std::string unpack_error(const mf::QuantizationConfig& config, const Checkpoint& c, uint64_t out_bytes) {
  std::vector<std::byte> out(out_bytes);
  const auto s = mf::unpack(config, c.parts(), out);
  BOOST_REQUIRE(!s.ok());
  return s.message();
}

}  // namespace

// ---- config ----

BOOST_AUTO_TEST_CASE(configs_with_their_defaults) {
  auto awq = mf::parse_quantization_config(
      nlohmann::json::parse(R"({"quant_method":"awq","bits":4,"group_size":128,"version":"GEMM","backend":"x"})"));
  BOOST_REQUIRE_MESSAGE(awq.ok(), awq.status().to_string());
  BOOST_CHECK(awq->method == mf::QuantMethod::awq);
  BOOST_CHECK_EQUAL(awq->group_size, 128);
  BOOST_CHECK(awq->zero_point);

  auto gptq = mf::parse_quantization_config(nlohmann::json::parse(
      R"({"quant_method":"gptq","bits":8,"group_size":-1,"desc_act":true,"sym":false,"checkpoint_format":"gptq_v2","damp_percent":0.01})"));
  BOOST_REQUIRE_MESSAGE(gptq.ok(), gptq.status().to_string());
  BOOST_CHECK(gptq->method == mf::QuantMethod::gptq);
  BOOST_CHECK_EQUAL(gptq->bits, 8);
  BOOST_CHECK_EQUAL(gptq->group_size, -1);
  BOOST_CHECK(gptq->desc_act);
  BOOST_CHECK(!gptq->sym);
  BOOST_CHECK(gptq->checkpoint_format == mf::GptqCheckpointFormat::v2);

  // AutoGPTQ's quantize_config.json without quant_method, read as GPTQ.
  auto old =
      mf::parse_quantization_config(nlohmann::json::parse(R"({"bits":4,"group_size":128})"), mf::QuantMethod::gptq);
  BOOST_REQUIRE_MESSAGE(old.ok(), old.status().to_string());
  BOOST_CHECK(old->method == mf::QuantMethod::gptq);
  BOOST_CHECK(!old->desc_act);
  BOOST_CHECK(old->sym);
  BOOST_CHECK(old->checkpoint_format == mf::GptqCheckpointFormat::v1);
}

BOOST_AUTO_TEST_CASE(config_refusals_name_key_and_value) {
  const std::string p = "quantization config: ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([1])", p + "expected a JSON object, got [1]"},
      {R"({"bits":4,"group_size":128})", p + "'quant_method' is missing"},
      {R"({"quant_method":"fp8","bits":8,"group_size":128})",
       p + "quant_method 'fp8' is not supported (quantized checkpoints are read for awq and gptq)"},
      {R"({"quant_method":7})", p + "'quant_method' must be a string, got 7"},
      {R"({"quant_method":"gptq","group_size":128})", p + "'bits' is missing"},
      {R"({"quant_method":"gptq","bits":"4","group_size":128})", p + "'bits' must be an integer, got \"4\""},
      {R"({"quant_method":"gptq","bits":4,"group_size":4294967296})",
       p + "'group_size' must be a 32-bit integer, got 4294967296"},
      {R"({"quant_method":"gptq","bits":3,"group_size":128})",
       p + "GPTQ bits 3 is not supported: 3-bit checkpoints pack 32 values into 3 consecutive words as one 96-bit "
           "stream with values straddling word boundaries, a layout no reference decoder (llama.cpp's converter, "
           "mlx-lm) reads to validate against"},
      {R"({"quant_method":"gptq","bits":5,"group_size":128})", p + "GPTQ bits must be 2, 4 or 8, got 5"},
      {R"({"quant_method":"gptq","bits":4,"group_size":0})",
       p + "GPTQ group_size must be a positive number of inputs or -1 (one group), got 0"},
      {R"({"quant_method":"gptq","bits":4,"group_size":128,"desc_act":"yes"})",
       p + "'desc_act' must be true or false, got \"yes\""},
      {R"({"quant_method":"gptq","bits":4,"group_size":128,"checkpoint_format":"marlin"})",
       p + "GPTQ checkpoint_format 'marlin' is not supported (gptq and gptq_v2 are; other formats repack the tensors)"},
      {R"({"quant_method":"gptq","bits":4,"group_size":128,"is_marlin_format":true})",
       p + "'is_marlin_format' is true: Marlin-repacked GPTQ checkpoints are not supported"},
      {R"({"quant_method":"awq","bits":8,"group_size":128})",
       p + "AWQ bits 8 is not supported: the GEMM layout packs 4-bit values, 8 per 32-bit word"},
      {R"({"quant_method":"awq","bits":4,"group_size":-1})",
       p + "AWQ group_size must be a positive number of inputs, got -1"},
      {R"({"quant_method":"awq","bits":4,"group_size":128,"zero_point":1})",
       p + "'zero_point' must be true or false, got 1"},
  };
  for (const auto& [text, message] : cases) {
    BOOST_TEST_CONTEXT(text) {
      auto r = mf::parse_quantization_config(nlohmann::json::parse(text));
      BOOST_REQUIRE(!r.ok());
      BOOST_CHECK(r.status().code() == quantflow::ErrorCode::bad_input);
      BOOST_CHECK_EQUAL(r.status().message(), message);
    }
  }
  for (const char* version : {"gemv", "GEMV_FAST", "marlin", "exllama", "exllamav2", "ipex"}) {
    auto r = mf::parse_quantization_config(
        {{"quant_method", "awq"}, {"bits", 4}, {"group_size", 128}, {"version", version}});
    BOOST_REQUIRE(!r.ok());
    std::string lower = version;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    BOOST_CHECK_EQUAL(r.status().message(),
                      p + "AWQ version '" + lower +
                          "' is not supported: only the GEMM layout is decoded (the GEMV, Marlin and ExLlama variants "
                          "pack qweight and qzeros differently)");
  }
}

// ---- AWQ ----

// in 32 (one group of 32), out 8: every qweight word is 0x75316420, which by §6's order holds
// value j for logical column j (nibble positions 0..7 hold columns 0, 2, 4, 6, 1, 3, 5, 7), so
// row o's codes are all o: bytes o * 0x11. qzeros 0x00000008: column 0's zero is 8, the
// others 0. Scales 1.0.
BOOST_AUTO_TEST_CASE(awq_words_by_hand) {
  Checkpoint c;
  c.qweight = le_bytes(std::vector<uint32_t>(32, 0x75316420u));
  c.qweight_shape = {32, 1};
  c.qzeros = le_bytes(std::vector<uint32_t>{0x00000008u});
  c.qzeros_shape = {1, 1};
  c.scales = le_bytes(std::vector<uint16_t>(8, 0x3C00));
  c.scales_shape = {1, 8};
  const auto u = unpack(awq_config(32), c);
  BOOST_CHECK_EQUAL(u.layout.dtype.name, "zp_q4_g32");
  BOOST_CHECK_EQUAL(u.layout.n_bytes, 8u * 20);
  for (uint8_t o = 0; o < 8; ++o) {
    std::vector<uint8_t> want(20, static_cast<uint8_t>(o * 0x11));
    want[0] = 0x00;
    want[1] = 0x3C;
    want[2] = o == 0 ? 8 : 0;
    want[3] = 0x00;
    qf_test::check_bytes(bytes_u8(u.bytes, o * 20u, 20), want);
  }
}

BOOST_AUTO_TEST_CASE(awq_packer_matches_the_documented_word) {
  Logical l;
  l.in = 1;
  l.out = 8;
  l.n_groups = 1;
  l.q = {0, 1, 2, 3, 4, 5, 6, 7};
  l.zero.assign(8, 0);
  l.scale.assign(8, 0);
  BOOST_CHECK(awq_pack(l).qweight == le_bytes(std::vector<uint32_t>{0x75316420u}));
}

BOOST_AUTO_TEST_CASE(awq_random_weights_decode_to_the_formula) {
  const auto l = random_logical(4, 64, 16, 32, 0, 15, 1);
  check_values(unpack(awq_config(32), awq_pack(l)), l, "zp_q4_g32");
  const auto l128 = random_logical(4, 256, 24, 128, 0, 15, 2);
  check_values(unpack(awq_config(128), awq_pack(l128)), l128, "zp_q4_g128");
  // A group size with no zp codec gives f32 values.
  const auto l16 = random_logical(4, 64, 16, 16, 0, 15, 3);
  check_values(unpack(awq_config(16), awq_pack(l16)), l16, "f32");
}

BOOST_AUTO_TEST_CASE(awq_without_zero_point_uses_8) {
  auto l = random_logical(4, 64, 16, 32, 8, 8, 4);
  check_values(unpack(awq_config(32, false), awq_pack(l, false)), l, "zp_q4_g32");
}

// BF16 and F32 scales are converted exactly and give f32 values.
BOOST_AUTO_TEST_CASE(awq_bf16_and_f32_scales_give_f32) {
  auto l = random_logical(4, 64, 16, 32, 0, 15, 5);
  for (auto& h : l.scale) h &= 0xFFF8;  // 7 mantissa bits: exact in bf16
  auto c = awq_pack(l);
  std::vector<uint16_t> bf16;
  std::vector<uint32_t> f32;
  for (uint16_t h : l.scale) {
    const auto bits = std::bit_cast<uint32_t>(half_value(h));
    BOOST_REQUIRE_EQUAL(bits & 0xFFFF, 0u);
    bf16.push_back(static_cast<uint16_t>(bits >> 16));
    f32.push_back(bits);
  }
  c.scales = le_bytes(bf16);
  c.scales_dtype = "bf16";
  check_values(unpack(awq_config(32), c), l, "f32");
  c.scales = le_bytes(f32);
  c.scales_dtype = "F32";
  check_values(unpack(awq_config(32), c), l, "f32");
}

// ---- GPTQ ----

// 4 bits, in 32, out 8, one group: every qweight word 0x76543210 holds input k of its 8 at bits
// 4k, so input i has code i % 8 in every row (codes bytes 0x10 0x32 0x54 0x76, four times).
// qzeros 0xF0000001 stores 1 for column 0, 15 for column 7, 0 for the rest: v1 zeros 2, 16, 1;
// v2 zeros 1, 15, 0. Row 7 under v1 decodes to i % 8 - 16.
BOOST_AUTO_TEST_CASE(gptq_words_by_hand) {
  Checkpoint c;
  c.qweight = le_bytes(std::vector<uint32_t>(4 * 8, 0x76543210u));
  c.qweight_shape = {4, 8};
  c.qzeros = le_bytes(std::vector<uint32_t>{0xF0000001u});
  c.qzeros_shape = {1, 1};
  c.scales = le_bytes(std::vector<uint16_t>(8, 0x3C00));
  c.scales_shape = {1, 8};
  for (const bool v1 : {true, false}) {
    const auto u = unpack(gptq_config(4, 32, v1), c);
    BOOST_CHECK_EQUAL(u.layout.dtype.name, "zp_q4_g32");
    for (uint8_t o = 0; o < 8; ++o) {
      const int stored = o == 0 ? 1 : o == 7 ? 15 : 0;
      std::vector<uint8_t> want(20);
      want[1] = 0x3C;
      want[2] = static_cast<uint8_t>(stored + (v1 ? 1 : 0));
      for (int k = 0; k < 16; ++k) want[4 + k] = static_cast<uint8_t>((2 * k % 8) | (2 * k % 8 + 1) << 4);
      qf_test::check_bytes(bytes_u8(u.bytes, o * 20u, 20), want);
    }
    if (v1) {
      const auto v = values_of(u);
      for (int i = 0; i < 32; ++i) BOOST_CHECK_EQUAL(v[7 * 32 + i], static_cast<float>(i % 8 - 16));
    }
  }
}

// v1 zeros run over [1, 2^bits] (a stored 2^bits - 1 is 2^bits), v2 zeros over [0, 2^bits - 1].
BOOST_AUTO_TEST_CASE(gptq_random_weights_decode_to_the_formula) {
  uint32_t seed = 10;
  for (int bits : {2, 4, 8})
    for (const bool v1 : {true, false}) {
      BOOST_TEST_CONTEXT(bits << " bits, " << (v1 ? "v1" : "v2")) {
        const int max_code = (1 << bits) - 1;
        const auto l = random_logical(bits, 64, 16, 32, v1 ? 1 : 0, v1 ? max_code + 1 : max_code, ++seed);
        const std::string blocks = "zp_q" + std::to_string(bits) + "_g32";
        auto c = gptq_pack(l, v1);
        check_values(unpack(gptq_config(bits, 32, v1), c), l, blocks);
        c.has_g_idx = true;  // g_idx = i / group_size changes nothing
        check_values(unpack(gptq_config(bits, 32, v1), c), l, blocks);
      }
    }
  // 8 bits, out 12: the last strip of output rows is 4 wide.
  const auto l = random_logical(8, 128, 12, 64, 1, 256, 99);
  check_values(unpack(gptq_config(8, 64, true), gptq_pack(l, true)), l, "zp_q8_g64");
}

// Activation order: g_idx a permutation of i / group_size gives f32 values by the formula.
BOOST_AUTO_TEST_CASE(gptq_act_order_gives_f32_by_g_idx) {
  auto l = random_logical(4, 64, 16, 32, 1, 16, 20);
  std::mt19937 rng(21);
  std::shuffle(l.g_idx.begin(), l.g_idx.end(), rng);
  auto c = gptq_pack(l, true);
  c.has_g_idx = true;
  auto config = gptq_config(4, 32, true);
  config.desc_act = true;
  check_values(unpack(config, c), l, "f32");
}

BOOST_AUTO_TEST_CASE(gptq_one_group_and_partial_groups_give_f32) {
  const auto whole = random_logical(4, 64, 16, 64, 1, 16, 30);  // group_size -1: one group of 64
  auto c = gptq_pack(whole, true);
  c.has_g_idx = true;
  check_values(unpack(gptq_config(4, -1, true), c), whole, "f32");
  c.has_g_idx = false;
  check_values(unpack(gptq_config(4, -1, true), c), whole, "f32");
  const auto partial = random_logical(4, 48, 16, 32, 1, 16, 31);  // groups of 32 and 16
  check_values(unpack(gptq_config(4, 32, true), gptq_pack(partial, true)), partial, "f32");
}

// sym: real zero 2^(bits - 1), stored as 7 in v1 at 4 bits; without qzeros it is implied.
BOOST_AUTO_TEST_CASE(gptq_sym_with_and_without_qzeros) {
  const auto l = random_logical(4, 64, 16, 32, 8, 8, 40);
  auto c = gptq_pack(l, true);
  BOOST_CHECK(c.qzeros == le_bytes(std::vector<uint32_t>(4, 0x77777777u)));
  check_values(unpack(gptq_config(4, 32, true, true), c), l, "zp_q4_g32");
  c.has_qzeros = false;
  check_values(unpack(gptq_config(4, 32, true, true), c), l, "zp_q4_g32");
  const auto l2 = random_logical(2, 64, 16, 32, 2, 2, 41);
  auto c2 = gptq_pack(l2, false);
  c2.has_qzeros = false;
  check_values(unpack(gptq_config(2, 32, false, true), c2), l2, "zp_q2_g32");
}

// ---- refusals ----

BOOST_AUTO_TEST_CASE(awq_refusals_name_the_part_and_both_shapes) {
  const auto l = random_logical(4, 64, 16, 32, 0, 15, 50);
  const auto base = awq_pack(l);
  const auto config = awq_config(32);
  const std::string dims = " with in 64, group_size 32, out 16)";
  auto c = base;
  c.qweight_dtype = "f16";
  BOOST_CHECK_EQUAL(layout_error(config, c), "AWQ qweight: dtype f16, expected i32");
  c = base;
  c.qweight_shape = {128};
  BOOST_CHECK_EQUAL(layout_error(config, c), "AWQ qweight: shape [128], expected 2 dimensions [in, out / 8]");
  c.qweight_shape = {0, 2};
  BOOST_CHECK_EQUAL(layout_error(config, c), "AWQ qweight: shape [0, 2] is empty, expected [in, out / 8]");
  BOOST_CHECK_EQUAL(layout_error(awq_config(128), base),
                    "AWQ qweight: 64 inputs (shape[0]) is not a multiple of group_size 128");
  c = base;
  c.scales_dtype = "i32";
  BOOST_CHECK_EQUAL(layout_error(config, c), "AWQ scales: dtype i32, expected f16 or bf16 or f32");
  c = base;
  c.scales_shape = {2, 8};
  BOOST_CHECK_EQUAL(layout_error(config, c),
                    "AWQ scales: shape [2, 8], expected [2, 16] ([in / group_size, out]" + dims);
  c = base;
  c.has_qzeros = false;
  BOOST_CHECK_EQUAL(layout_error(config, c), "AWQ qzeros: missing, but the config has zero_point true");
  BOOST_CHECK_EQUAL(layout_error(awq_config(32, false), base),
                    "AWQ qzeros: present, but the config has zero_point false (every zero point is then 8)");
  c = base;
  c.qzeros_shape = {1, 2};
  BOOST_CHECK_EQUAL(layout_error(config, c),
                    "AWQ qzeros: shape [1, 2], expected [2, 2] ([in / group_size, out / 8]" + dims);
  c = base;
  c.qzeros_dtype = "u32";
  BOOST_CHECK_EQUAL(layout_error(config, c), "AWQ qzeros: dtype u32, expected i32");
  c = base;
  c.has_g_idx = true;
  c.g_idx_shape = {64};
  BOOST_CHECK_EQUAL(layout_error(config, c), "AWQ g_idx: present, but AWQ checkpoints have no g_idx (GPTQ only)");
  c = base;
  c.qweight.resize(c.qweight.size() - 4);
  BOOST_CHECK_EQUAL(unpack_error(config, c, 640), "AWQ qweight: 508 bytes of data, expected 512 for i32 [64, 2]");
  c = base;
  c.qzeros.push_back(std::byte{0});
  BOOST_CHECK_EQUAL(unpack_error(config, c, 640), "AWQ qzeros: 17 bytes of data, expected 16 for i32 [2, 2]");
  BOOST_CHECK_EQUAL(unpack_error(config, base, 10),
                    "the output buffer holds 10 bytes, the unpacked zp_q4_g32 [16, 64] weight needs 640");
  std::vector<std::byte> out(640);
  const auto wrong_method = mf::unpack_awq(gptq_config(4, 32, true), base.parts(), out);
  BOOST_CHECK(wrong_method.code() == quantflow::ErrorCode::internal);
  BOOST_CHECK_EQUAL(wrong_method.message(), "AWQ unpacking was given a GPTQ config");
  auto hand_made = awq_config(0);
  BOOST_CHECK_EQUAL(layout_error(hand_made, base),
                    "AWQ unpacking was given bits 4, group_size 0 (parse_quantization_config allows 4 and > 0)");
}

BOOST_AUTO_TEST_CASE(gptq_refusals_name_the_part_and_both_shapes) {
  const auto l = random_logical(4, 64, 16, 32, 1, 16, 60);
  auto base = gptq_pack(l, true);
  base.has_g_idx = true;
  const auto config = gptq_config(4, 32, true);
  const std::string dims = " with in 64 (qweight rows * 32 / bits 4), 2 groups, out 16)";
  auto c = base;
  c.qweight_dtype = "bf16";
  BOOST_CHECK_EQUAL(layout_error(config, c), "GPTQ qweight: dtype bf16, expected i32");
  c.qweight_dtype = "i32";
  c.qweight_shape = {8, 16, 1};
  BOOST_CHECK_EQUAL(layout_error(config, c),
                    "GPTQ qweight: shape [8, 16, 1], expected 2 dimensions [in * bits / 32, out]");
  c = base;
  c.scales_shape = {3, 16};
  BOOST_CHECK_EQUAL(layout_error(config, c), "GPTQ scales: shape [3, 16], expected [2, 16] ([groups, out]" + dims);
  c = base;
  c.qweight_shape = {8, 12};
  c.scales_shape = {2, 12};
  BOOST_CHECK_EQUAL(layout_error(config, c),
                    "GPTQ qzeros: out 12 is not a multiple of the 8 zero points per word at 4 bits");
  c = base;
  c.qzeros_shape = {2, 1};
  BOOST_CHECK_EQUAL(layout_error(config, c),
                    "GPTQ qzeros: shape [2, 1], expected [2, 2] ([groups, out * bits / 32]" + dims);
  c = base;
  c.has_qzeros = false;
  BOOST_CHECK_EQUAL(layout_error(config, c),
                    "GPTQ qzeros: missing, but the config has sym false (only symmetric checkpoints may omit it)");
  c = base;
  c.g_idx_dtype = "i64";
  BOOST_CHECK_EQUAL(layout_error(config, c), "GPTQ g_idx: dtype i64, expected i32");
  c = base;
  c.g_idx_shape = {63};
  BOOST_CHECK_EQUAL(layout_error(config, c), "GPTQ g_idx: shape [63], expected [64] ([in]" + dims);
  c = base;
  c.g_idx.resize(c.g_idx.size() - 4);
  BOOST_CHECK_EQUAL(layout_error(config, c), "GPTQ g_idx: 252 bytes of data, expected 256 for i32 [64]");
  for (const int32_t bad : {2, -1}) {
    c = base;
    auto g_idx = l.g_idx;
    g_idx[17] = static_cast<uint32_t>(bad);
    c.g_idx = le_bytes(g_idx);
    BOOST_CHECK_EQUAL(layout_error(config, c),
                      "GPTQ g_idx: value " + std::to_string(bad) + " at input 17 is not a group: scales has 2 groups");
  }
  c = base;
  c.has_g_idx = false;
  auto act_order = config;
  act_order.desc_act = true;
  BOOST_CHECK_EQUAL(
      layout_error(act_order, c),
      "GPTQ g_idx: missing, but the config has desc_act true (activation order needs each input's group)");
  c = base;
  c.scales.resize(c.scales.size() - 2);
  BOOST_CHECK_EQUAL(unpack_error(config, c, 640), "GPTQ scales: 62 bytes of data, expected 64 for f16 [2, 16]");
  std::vector<std::byte> out(640);
  const auto wrong_method = mf::unpack_gptq(awq_config(32), base.parts(), out);
  BOOST_CHECK(wrong_method.code() == quantflow::ErrorCode::internal);
  BOOST_CHECK_EQUAL(wrong_method.message(), "GPTQ unpacking was given an AWQ config");
  BOOST_CHECK_EQUAL(layout_error(gptq_config(3, 32, true), base),
                    "GPTQ unpacking was given bits 3, group_size 32 (parse_quantization_config allows 2, 4, 8 and > 0 "
                    "or -1)");
  BOOST_CHECK_EQUAL(layout_error(gptq_config(4, -2, true), base),
                    "GPTQ unpacking was given bits 4, group_size -2 (parse_quantization_config allows 2, 4, 8 and > 0 "
                    "or -1)");
}
