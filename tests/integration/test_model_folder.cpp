// MLX model folders built by hand from mlx-quant.md §1-4 (tests/support/model_folders.hpp
// writes the files): every affine width, group size and scale dtype, the floating modes, the
// config's defaults, per-module dicts and `false`, MLX's own file layout, expert tensors and
// sharded folders. Each is read through the CLI and decoded to f32; the floats must be what
// §2.3 and §3 compute from the stored fields, bit for bit.
#include <array>

#include "support/model_folders.hpp"

using namespace qf_folder;
using nlohmann::json;
using qf_test::quote;

namespace {

const char* const kScaleDtypes[] = {"F16", "BF16", "F32"};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// name -> encoding of every tensor the folder reader presents.
std::map<std::string, std::string> encodings(const fs::path& folder) {
  auto reader = qf_test::plugins().open_reader(folder.string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  BOOST_CHECK_EQUAL((*reader)->container(), "mlx");
  std::map<std::string, std::string> out;
  for (const auto& t : (*reader)->tensors()) out[t.name] = t.dtype.name;
  return out;
}

void check_module(const std::map<std::string, std::vector<float>>& values, const std::string& name, const Module& m) {
  BOOST_TEST_CONTEXT(name) {
    BOOST_REQUIRE(values.count(name));
    check_same_floats(values.at(name), m.expected);
  }
}

}  // namespace

// The packs of §2.2 worked by hand: codes 0..7 at 3 bits are the 24-bit value 0xFAC688.
BOOST_AUTO_TEST_CASE(the_test_packer_follows_the_document) {
  BOOST_CHECK(mlx_pack({0, 1, 2, 3, 4, 5, 6, 7}, 3) == (std::vector<uint8_t>{0x88, 0xC6, 0xFA}));
  // 6 bits: 4 codes in 3 bytes, 63 | 1 << 6 | 2 << 12 | 3 << 18 = 0x0C207F.
  BOOST_CHECK(mlx_pack({63, 1, 2, 3}, 6) == (std::vector<uint8_t>{0x7F, 0x20, 0x0C}));
  // 5 bits: 8 codes in 5 bytes; code 31 at element 7 fills bits 35..39.
  BOOST_CHECK(mlx_pack({1, 0, 0, 0, 0, 0, 0, 31}, 5) == (std::vector<uint8_t>{0x01, 0, 0, 0, 0xF8}));
  // 4 bits: element k at bits 4k of a little-endian word.
  BOOST_CHECK(mlx_pack({1, 2, 3, 4, 5, 6, 7, 8}, 4) == (std::vector<uint8_t>{0x21, 0x43, 0x65, 0x87}));
}

// A 3-bit row with scale 1 and bias 0 decodes to its codes: the reader's bit order is §2.2's.
BOOST_AUTO_TEST_CASE(a_three_bit_row_decodes_to_its_codes) {
  qf_test::TempDir tmp;
  std::vector<uint8_t> weight(12);  // codes 0..7, 4 times
  for (size_t i = 0; i < weight.size(); ++i) weight[i] = std::array<uint8_t, 3>{0x88, 0xC6, 0xFA}[i % 3];
  const std::vector<uint8_t> one_f16 = {0x00, 0x3C}, zero_f16 = {0, 0};
  write_folder(tmp / "m", {{"quantization", {{"bits", 3}, {"group_size", 32}}}},
               {{"w.weight", "U32", {1, 3}, weight},
                {"w.scales", "F16", {1, 1}, one_f16},
                {"w.biases", "F16", {1, 1}, zero_f16}});
  BOOST_CHECK_EQUAL(encodings(tmp / "m").at("w.weight"), "mlx_q3_g32_f16");
  std::vector<float> want;
  for (int i = 0; i < 32; ++i) want.push_back(static_cast<float>(i % 8));
  check_same_floats(decoded(tmp / "m").at("w.weight"), want);
}

// All 54 affine encodings in one folder: 4-bit groups of 64 are the defaults, every other
// combination a per-module dict; the scale dtype comes from the stored scales.
BOOST_AUTO_TEST_CASE(every_affine_width_group_and_scale_dtype_decodes_by_the_formula) {
  qf_test::TempDir tmp;
  std::mt19937 rng(11);
  json quantization = {{"group_size", 64}, {"bits", 4}, {"mode", "affine"}};
  std::vector<Part> parts;
  std::vector<std::pair<std::string, Module>> modules;
  for (const int bits : {2, 3, 4, 5, 6, 8})
    for (const int group : {32, 64, 128})
      for (const char* dtype : kScaleDtypes) {
        const std::string codec = "mlx_q" + std::to_string(bits) + "_g" + std::to_string(group) + "_" + lower(dtype);
        const std::string path = "model.layers.0." + codec;
        modules.emplace_back(codec, affine_module(path, {3, 256}, bits, group, dtype, rng));
        append_parts(parts, modules.back().second);
        if (bits != 4 || group != 64) quantization[path] = {{"group_size", group}, {"bits", bits}};
      }
  write_folder(tmp / "m", {{"model_type", "llama"}, {"quantization", quantization}}, parts);
  const auto types = encodings(tmp / "m");
  BOOST_CHECK_EQUAL(types.size(), 54u);
  const auto values = decoded(tmp / "m");
  for (const auto& [codec, m] : modules) {
    const std::string name = "model.layers.0." + codec + ".weight";
    BOOST_CHECK_EQUAL(types.at(name), codec);
    check_module(values, name, m);
  }
}

// mxfp4 as the default mode, mxfp8 and nvfp4 as per-module dicts that name only the mode (group
// size and bits then come from that mode's defaults, not from the top level).
BOOST_AUTO_TEST_CASE(the_floating_modes_decode_by_the_formula) {
  qf_test::TempDir tmp;
  std::mt19937 rng(12);
  const Module mx4 = fp_module("a", {4, 128}, "mxfp4", rng), mx8 = fp_module("b", {4, 128}, "mxfp8", rng),
               nv4 = fp_module("c", {4, 128}, "nvfp4", rng);
  std::vector<Part> parts;
  for (const Module* m : {&mx4, &mx8, &nv4}) append_parts(parts, *m);
  write_folder(
      tmp / "m",
      {{"quantization",
        {{"group_size", 32}, {"bits", 4}, {"mode", "mxfp4"}, {"b", {{"mode", "mxfp8"}}}, {"c", {{"mode", "nvfp4"}}}}}},
      parts);
  const auto types = encodings(tmp / "m");
  BOOST_CHECK_EQUAL(types.at("a.weight"), "mlx_mxfp4");
  BOOST_CHECK_EQUAL(types.at("b.weight"), "mlx_mxfp8");
  BOOST_CHECK_EQUAL(types.at("c.weight"), "mlx_nvfp4");
  const auto values = decoded(tmp / "m");
  check_module(values, "a.weight", mx4);
  check_module(values, "b.weight", mx8);
  check_module(values, "c.weight", nv4);
}

// §4's rules: `mode` missing means affine; a dict's missing keys take the mode's defaults (64 for
// affine, not the top level's 32); `false` keeps a module plain; a module with scales and no
// entry takes the defaults; only `quantization_config` (no `quantization`) is read the same way.
BOOST_AUTO_TEST_CASE(per_module_dicts_and_false_entries) {
  for (const char* key : {"quantization", "quantization_config"}) {
    BOOST_TEST_CONTEXT(key) {
      qf_test::TempDir tmp;
      std::mt19937 rng(13);
      const Module q_proj = affine_module("model.layers.0.self_attn.q_proj", {2, 64}, 4, 32, "BF16", rng);
      const Module down = affine_module("model.layers.0.mlp.down_proj", {2, 128}, 8, 64, "BF16", rng);
      const Module head = affine_module("lm_head", {2, 64}, 6, 32, "BF16", rng);
      const Module gate = plain_tensor("model.layers.0.mlp.gate.weight", {2, 64}, "BF16", rng);
      const Module norm = plain_tensor("model.norm.weight", {64}, "BF16", rng);
      std::vector<Part> parts;
      for (const Module* m : {&q_proj, &down, &head, &gate, &norm}) append_parts(parts, *m);
      const json quantization = {{"group_size", 32},
                                 {"bits", 4},
                                 {"model.layers.0.mlp.down_proj", {{"bits", 8}}},
                                 {"lm_head", {{"group_size", 32}, {"bits", 6}, {"mode", "affine"}}},
                                 {"model.layers.0.mlp.gate", false}};
      write_folder(tmp / "m", {{"torch_dtype", "bfloat16"}, {key, quantization}}, parts);
      const auto types = encodings(tmp / "m");
      BOOST_CHECK(
          (types == std::map<std::string, std::string>{{"model.layers.0.self_attn.q_proj.weight", "mlx_q4_g32_bf16"},
                                                       {"model.layers.0.mlp.down_proj.weight", "mlx_q8_g64_bf16"},
                                                       {"lm_head.weight", "mlx_q6_g32_bf16"},
                                                       {"model.layers.0.mlp.gate.weight", "bf16"},
                                                       {"model.norm.weight", "bf16"}}));
      const auto values = decoded(tmp / "m");
      check_module(values, "model.layers.0.self_attn.q_proj.weight", q_proj);
      check_module(values, "model.layers.0.mlp.down_proj.weight", down);
      check_module(values, "lm_head.weight", head);
      check_module(values, "model.layers.0.mlp.gate.weight", gate);
      check_module(values, "model.norm.weight", norm);
    }
  }
}

// mx.save_safetensors' layout (unpadded header, data out of key order), SwitchLinear experts
// with a leading expert dimension, and a Linear's plain bias beside its quantized weight.
BOOST_AUTO_TEST_CASE(mlx_file_layout_experts_and_biases) {
  qf_test::TempDir tmp;
  std::mt19937 rng(14);
  const Module experts = affine_module("model.layers.0.mlp.switch_mlp.up_proj", {2, 3, 64}, 4, 64, "F16", rng);
  const Module proj = affine_module("model.layers.0.self_attn.o_proj", {4, 64}, 2, 32, "F16", rng);
  const Module bias = plain_tensor("model.layers.0.self_attn.o_proj.bias", {4}, "F16", rng);
  std::vector<Part> parts;
  for (const Module* m : {&experts, &proj, &bias}) append_parts(parts, *m);
  const json config = {
      {"model_type", "mixtral"},
      {"quantization",
       {{"group_size", 64}, {"bits", 4}, {"model.layers.0.self_attn.o_proj", {{"group_size", 32}, {"bits", 2}}}}}};
  write_folder(tmp / "m", config, parts, Layout::mlx);
  const auto types = encodings(tmp / "m");
  BOOST_CHECK_EQUAL(types.at("model.layers.0.mlp.switch_mlp.up_proj.weight"), "mlx_q4_g64_f16");
  BOOST_CHECK_EQUAL(types.at("model.layers.0.self_attn.o_proj.weight"), "mlx_q2_g32_f16");
  BOOST_CHECK_EQUAL(types.at("model.layers.0.self_attn.o_proj.bias"), "f16");
  auto reader = qf_test::plugins().open_reader((tmp / "m").string());
  BOOST_REQUIRE(reader.ok());
  for (const auto& t : (*reader)->tensors())
    if (t.name == "model.layers.0.mlp.switch_mlp.up_proj.weight") BOOST_CHECK((t.shape == quantflow::Shape{2, 3, 64}));
  // hf.config carries config.json (compact) for the writer; a config holding nothing but the
  // quantization block is not carried (the tensors say it all).
  const quantflow::MetaValue* hf = (*reader)->metadata().find("hf.config");
  BOOST_REQUIRE(hf);
  BOOST_CHECK_EQUAL(hf->text, config.dump());
  const auto values = decoded(tmp / "m");
  check_module(values, "model.layers.0.mlp.switch_mlp.up_proj.weight", experts);
  check_module(values, "model.layers.0.self_attn.o_proj.weight", proj);
  check_module(values, "model.layers.0.self_attn.o_proj.bias", bias);
}

// Two shards and mlx-lm's index; one module's codes sit in the first shard, its scales and
// biases in the second.
BOOST_AUTO_TEST_CASE(a_sharded_folder_with_its_index) {
  qf_test::TempDir tmp;
  std::mt19937 rng(15);
  const Module a = affine_module("a", {2, 64}, 4, 64, "F16", rng), b = affine_module("b", {2, 64}, 4, 64, "F16", rng);
  const std::vector<Part> first = {a.parts[0], b.parts[0], b.parts[1], b.parts[2]}, second = {a.parts[1], a.parts[2]};
  const fs::path dir = tmp / "m";
  fs::create_directories(dir);
  qf_test::write_text(dir / "config.json", json{{"quantization", {{"group_size", 64}, {"bits", 4}}}}.dump());
  write_file(dir / "model-00001-of-00002.safetensors", safetensors_bytes(first, Layout::mlx));
  write_file(dir / "model-00002-of-00002.safetensors", safetensors_bytes(second, Layout::mlx));
  json weight_map = json::object();
  uint64_t total = 0;
  for (const auto* shard : {&first, &second})
    for (const auto& p : *shard) {
      weight_map[p.name] = shard == &first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
      total += p.data.size();
    }
  qf_test::write_text(dir / "model.safetensors.index.json",
                      json{{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}}.dump());
  const auto types = encodings(dir);
  BOOST_CHECK(
      (types == std::map<std::string, std::string>{{"a.weight", "mlx_q4_g64_f16"}, {"b.weight", "mlx_q4_g64_f16"}}));
  const auto values = decoded(dir);
  check_module(values, "a.weight", a);
  check_module(values, "b.weight", b);
}
