// AutoAWQ (GEMM) and GPTQ folders packed by hand from mlx-quant.md §6-7 (this file's packers),
// read through the CLI: each layer's logical weight [out, in] must decode to W[o][i] of the
// document's formulas bit for bit, as zero-point blocks where the groups are contiguous and as
// f32 otherwise (activation order, one group over all inputs, BF16 scales); and the folders
// convert on to q4_1.
#include <numeric>

#include "support/model_folders.hpp"

using namespace qf_folder;
using nlohmann::json;
using qf_test::quote;

namespace {

// A quantized Linear's logical contents: codes q[i][o], zeros and scales per group, g_idx.
struct Linear {
  int in = 0, out = 0, bits = 4, groups = 0;
  std::vector<uint32_t> q;       // [in][out]
  std::vector<uint32_t> zeros;   // [groups][out], the real zero points
  std::vector<uint16_t> scales;  // [groups][out], f16 (or bf16) bits
  std::vector<int32_t> g_idx;    // [in]
  bool bf16 = false;

  float scale(int g, int o) const {
    const uint16_t s = scales[g * out + o];
    return bf16 ? bf16_value(s) : f16_value(s);
  }
  // W[o][i] = (q - zero) * scale, in float32, rows = outputs.
  std::vector<float> expected() const {
    std::vector<float> w(static_cast<size_t>(out) * in);
    for (int o = 0; o < out; ++o)
      for (int i = 0; i < in; ++i) {
        const int g = g_idx[i];
        const auto diff = static_cast<int>(q[i * out + o]) - static_cast<int>(zeros[g * out + o]);
        w[static_cast<size_t>(o) * in + i] = static_cast<float>(diff) * scale(g, o);
      }
    return w;
  }
};

Linear random_linear(int in, int out, int bits, int groups, std::vector<int32_t> g_idx, std::mt19937& rng) {
  Linear l{.in = in, .out = out, .bits = bits, .groups = groups, .q = {}, .zeros = {}, .scales = {}, .g_idx = g_idx};
  for (int i = 0; i < in * out; ++i) l.q.push_back(rng() % (1u << bits));
  for (int i = 0; i < groups * out; ++i) {
    l.zeros.push_back(rng() % (1u << bits));
    l.scales.push_back(random_f16(rng));
  }
  return l;
}

// GPTQ v1 stores zero - 1, so its real zeros are 1 .. 2^bits (0 cannot be stored).
void v1_zeros(Linear& l) {
  for (auto& z : l.zeros) z = 1 + z;
}

std::vector<int32_t> contiguous(int in, int group) {
  std::vector<int32_t> g(in);
  for (int i = 0; i < in; ++i) g[i] = i / group;
  return g;
}

std::vector<uint8_t> words(const std::vector<uint32_t>& w) {
  std::vector<uint8_t> out;
  for (const uint32_t x : w) put_le(out, x);
  return out;
}
std::vector<uint8_t> halves(const std::vector<uint16_t>& h) {
  std::vector<uint8_t> out;
  for (const uint16_t x : h) put_le(out, x);
  return out;
}

// §6: 8 four-bit values per word along out; logical column 8c + j at bit kAwqShift[j].
constexpr int kAwqShift[8] = {0, 16, 4, 20, 8, 24, 12, 28};

std::vector<uint32_t> awq_pack(const std::vector<uint32_t>& values, int rows, int cols) {
  std::vector<uint32_t> packed(static_cast<size_t>(rows) * cols / 8, 0);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) packed[(r * cols + c) / 8] |= values[r * cols + c] << kAwqShift[c % 8];
  return packed;
}

// AWQ parts of `l` under `path` (zeros absent: zero_point false, every zero must be 8).
std::vector<Part> awq_parts(const std::string& path, const Linear& l, bool with_zeros = true) {
  std::vector<Part> parts = {
      {path + ".qweight", "I32", {uint64_t(l.in), uint64_t(l.out / 8)}, words(awq_pack(l.q, l.in, l.out))},
      {path + ".scales", "F16", {uint64_t(l.groups), uint64_t(l.out)}, halves(l.scales)}};
  if (with_zeros)
    parts.push_back({path + ".qzeros",
                     "I32",
                     {uint64_t(l.groups), uint64_t(l.out / 8)},
                     words(awq_pack(l.zeros, l.groups, l.out))});
  return parts;
}

// §7: qweight packs f = 32 / bits inputs per word (LSB first), qzeros f outputs per word.
// `stored_zero_offset` is 1 for checkpoint_format gptq (v1 stores zero - 1, masked).
std::vector<Part> gptq_parts(const std::string& path, const Linear& l, uint32_t stored_zero_offset,
                             bool with_g_idx = true) {
  const int f = 32 / l.bits;
  const uint32_t mask = (1u << l.bits) - 1;
  std::vector<uint32_t> qweight(static_cast<size_t>(l.in / f) * l.out, 0), qzeros(l.groups * l.out / f, 0);
  for (int i = 0; i < l.in; ++i)
    for (int o = 0; o < l.out; ++o) qweight[(i / f) * l.out + o] |= l.q[i * l.out + o] << (l.bits * (i % f));
  for (int g = 0; g < l.groups; ++g)
    for (int o = 0; o < l.out; ++o)
      qzeros[(g * l.out + o) / f] |= ((l.zeros[g * l.out + o] - stored_zero_offset) & mask) << (l.bits * (o % f));
  std::vector<Part> parts = {
      {path + ".qweight", "I32", {uint64_t(l.in / f), uint64_t(l.out)}, words(qweight)},
      {path + ".qzeros", "I32", {uint64_t(l.groups), uint64_t(l.out / f)}, words(qzeros)},
      {path + ".scales", l.bf16 ? "BF16" : "F16", {uint64_t(l.groups), uint64_t(l.out)}, halves(l.scales)}};
  if (with_g_idx) {
    std::vector<uint8_t> g;
    for (const int32_t x : l.g_idx) put_le(g, static_cast<uint32_t>(x));
    parts.push_back({path + ".g_idx", "I32", {uint64_t(l.in)}, g});
  }
  return parts;
}

json gptq_config(int bits, int group, bool desc_act, const std::string& format = "gptq") {
  return {{"quantization_config",
           {{"quant_method", "gptq"},
            {"bits", bits},
            {"group_size", group},
            {"desc_act", desc_act},
            {"sym", false},
            {"checkpoint_format", format},
            {"damp_percent", 0.01}}}};
}

std::string encoding_of(const fs::path& folder, const std::string& tensor) {
  auto reader = qf_test::plugins().open_reader(folder.string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  for (const auto& t : (*reader)->tensors())
    if (t.name == tensor) return t.dtype.name;
  BOOST_FAIL("no tensor " << tensor);
  return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_awq_packer_follows_the_document) {
  // Column j of a pack at bit shift [0, 16, 4, 20, 8, 24, 12, 28][j]: values 1..8 give 0x86427531.
  BOOST_CHECK_EQUAL(awq_pack({1, 2, 3, 4, 5, 6, 7, 8}, 1, 8)[0], 0x86427531u);
}

BOOST_AUTO_TEST_CASE(awq_gemm_layers_decode_by_the_formula) {
  qf_test::TempDir tmp;
  std::mt19937 rng(41);
  const Linear q_proj = random_linear(128, 16, 4, 4, contiguous(128, 32), rng);
  Linear o_proj = random_linear(256, 8, 4, 2, contiguous(256, 128), rng);
  const Module bias = plain_tensor("model.layers.0.self_attn.q_proj.bias", {16}, "F16", rng);
  std::vector<Part> parts = awq_parts("model.layers.0.self_attn.q_proj", q_proj);
  append_parts(parts, bias);
  const json config = {
      {"model_type", "llama"},
      {"quantization_config",
       {{"quant_method", "awq"}, {"bits", 4}, {"group_size", 32}, {"zero_point", true}, {"version", "gemm"}}}};
  write_folder(tmp / "a", config, parts);
  BOOST_CHECK_EQUAL(encoding_of(tmp / "a", "model.layers.0.self_attn.q_proj.weight"), "zp_q4_g32");
  auto values = decoded(tmp / "a");
  check_same_floats(values.at("model.layers.0.self_attn.q_proj.weight"), q_proj.expected());
  check_same_floats(values.at("model.layers.0.self_attn.q_proj.bias"), bias.expected);
  BOOST_CHECK_EQUAL(values.size(), 2u);

  // zero_point false: no qzeros, every zero is 8; groups of 128.
  std::fill(o_proj.zeros.begin(), o_proj.zeros.end(), 8u);
  json no_zeros = config;
  no_zeros["quantization_config"]["zero_point"] = false;
  no_zeros["quantization_config"]["group_size"] = 128;
  write_folder(tmp / "b", no_zeros, awq_parts("o_proj", o_proj, false));
  BOOST_CHECK_EQUAL(encoding_of(tmp / "b", "o_proj.weight"), "zp_q4_g128");
  check_same_floats(decoded(tmp / "b").at("o_proj.weight"), o_proj.expected());
}

// Contiguous groups (g_idx i / group, or no g_idx) become zero-point blocks for 2, 4 and 8 bits;
// v1 checkpoints store zero - 1, so a stored 2^bits - 1 is the zero 2^bits (the wrap quirk).
BOOST_AUTO_TEST_CASE(gptq_layers_with_contiguous_groups) {
  struct Case {
    int bits, group;
    const char* format;
    bool g_idx;
    const char* encoding;
  };
  for (const Case c : {Case{4, 32, "gptq", true, "zp_q4_g32"}, Case{2, 64, "gptq_v2", false, "zp_q2_g64"},
                       Case{8, 128, "gptq", true, "zp_q8_g128"}, Case{4, 64, "gptq_v2", true, "zp_q4_g64"}}) {
    BOOST_TEST_CONTEXT(c.bits << "-bit groups of " << c.group << ", " << c.format) {
      qf_test::TempDir tmp;
      std::mt19937 rng(42 + c.bits);
      const bool v1 = std::string(c.format) == "gptq";
      Linear l = random_linear(256, 32, c.bits, 256 / c.group, contiguous(256, c.group), rng);
      if (v1) {
        v1_zeros(l);
        l.zeros[0] = 1u << c.bits;  // stored as 2^bits - 1
      }
      write_folder(tmp / "m", gptq_config(c.bits, c.group, false, c.format),
                   gptq_parts("model.layers.0.mlp.up_proj", l, v1 ? 1 : 0, c.g_idx));
      BOOST_CHECK_EQUAL(encoding_of(tmp / "m", "model.layers.0.mlp.up_proj.weight"), c.encoding);
      check_same_floats(decoded(tmp / "m").at("model.layers.0.mlp.up_proj.weight"), l.expected());
    }
  }
}

// Activation order scatters the groups: the weight is f32 values; so are one group over all
// inputs (group_size -1) and BF16 scales.
BOOST_AUTO_TEST_CASE(gptq_layers_read_as_f32_values) {
  qf_test::TempDir tmp;
  std::mt19937 rng(43);
  std::vector<int32_t> scattered(128);
  for (int i = 0; i < 128; ++i) scattered[i] = (i * 7 + 3) % 4;  // every group 32 inputs, interleaved
  Linear act_order = random_linear(128, 16, 4, 4, scattered, rng);
  v1_zeros(act_order);
  write_folder(tmp / "act", gptq_config(4, 32, true), gptq_parts("l", act_order, 1));
  BOOST_CHECK_EQUAL(encoding_of(tmp / "act", "l.weight"), "f32");
  check_same_floats(decoded(tmp / "act").at("l.weight"), act_order.expected());

  Linear one_group = random_linear(96, 16, 8, 1, std::vector<int32_t>(96, 0), rng);
  v1_zeros(one_group);
  write_folder(tmp / "one", gptq_config(8, -1, false), gptq_parts("l", one_group, 1, false));
  BOOST_CHECK_EQUAL(encoding_of(tmp / "one", "l.weight"), "f32");
  check_same_floats(decoded(tmp / "one").at("l.weight"), one_group.expected());

  Linear bf16 = random_linear(64, 16, 4, 2, contiguous(64, 32), rng);
  bf16.bf16 = true;
  for (auto& s : bf16.scales) s = random_bf16(rng);
  write_folder(tmp / "bf16", gptq_config(4, 32, false, "gptq_v2"), gptq_parts("l", bf16, 0));
  BOOST_CHECK_EQUAL(encoding_of(tmp / "bf16", "l.weight"), "f32");
  check_same_floats(decoded(tmp / "bf16").at("l.weight"), bf16.expected());
}

// AutoGPTQ's quantize_config.json (no quant_method) and a symmetric checkpoint without qzeros.
BOOST_AUTO_TEST_CASE(gptq_quantize_config_json_and_sym_without_qzeros) {
  qf_test::TempDir tmp;
  std::mt19937 rng(44);
  Linear l = random_linear(64, 16, 4, 2, contiguous(64, 32), rng);
  std::fill(l.zeros.begin(), l.zeros.end(), 8u);
  auto parts = gptq_parts("l", l, 1);
  std::erase_if(parts, [](const Part& p) { return p.name == "l.qzeros"; });
  write_folder(tmp / "m", {{"model_type", "llama"}}, parts);
  qf_test::write_text(tmp / "m" / "quantize_config.json",
                      R"({"bits": 4, "group_size": 32, "desc_act": false, "sym": true, "damp_percent": 0.01})");
  BOOST_CHECK_EQUAL(encoding_of(tmp / "m", "l.weight"), "zp_q4_g32");
  check_same_floats(decoded(tmp / "m").at("l.weight"), l.expected());
}

// Both kinds convert on to another quantized type; q4_1's error is at most one step of its
// block's range, (max - min) / 15, plus the rounding of its f16 fields.
BOOST_AUTO_TEST_CASE(awq_and_gptq_folders_convert_to_q4_1) {
  qf_test::TempDir tmp;
  std::mt19937 rng(45);
  Linear awq = random_linear(64, 16, 4, 2, contiguous(64, 32), rng);
  write_folder(
      tmp / "awq",
      {{"quantization_config", {{"quant_method", "awq"}, {"bits", 4}, {"group_size", 32}, {"version", "gemm"}}}},
      awq_parts("l", awq));
  std::vector<int32_t> scattered(64);
  for (int i = 0; i < 64; ++i) scattered[i] = i % 2;
  Linear gptq = random_linear(64, 16, 4, 2, scattered, rng);
  v1_zeros(gptq);
  write_folder(tmp / "gptq", gptq_config(4, 32, true), gptq_parts("l", gptq, 1));
  for (const auto& [name, linear] : {std::pair{"awq", &awq}, std::pair{"gptq", &gptq}}) {
    BOOST_TEST_CONTEXT(name) {
      const fs::path out = tmp / (std::string(name) + ".gguf");
      cli_ok("convert -q " + quote(tmp / name) + " " + quote(out) + " --type q4_1");
      BOOST_CHECK_EQUAL(qf_test::tensors_of(out).at("l.weight").type, "q4_1");
      const auto want = linear->expected();
      cli_ok("convert -q " + quote(out) + " " + quote(tmp / (std::string(name) + ".f32.gguf")) + " --type f32");
      const auto got = as_floats(qf_test::tensors_of(tmp / (std::string(name) + ".f32.gguf")).at("l.weight").bytes);
      BOOST_REQUIRE_EQUAL(got.size(), want.size());
      for (size_t b = 0; b < want.size(); b += 32) {
        const auto [lo, hi] = std::minmax_element(want.begin() + b, want.begin() + b + 32);
        const float bound = (*hi - *lo) / 15.0f * 1.01f + std::fabs(*lo) * 0x1p-10f;
        for (size_t e = b; e < b + 32; ++e) BOOST_CHECK_LE(std::fabs(got[e] - want[e]), bound);
      }
    }
  }
}
