// MLX outputs from recipes: configs/examples/mlx-mixed-4-6.yaml on a 32-layer checkpoint with
// Hugging Face names gives mlx-lm's mixed_4_6 choice per tensor and the matching config.json.
#include <set>

#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;

namespace {

constexpr int kLayers = 32;

qf_test::CommandResult run_ok(const std::string& args) {
  auto r = cli(args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, args << "\n" << r.err << r.out);
  return r;
}

// mlx-lm's use_more_bits rule, written out independently of the example's layer list.
bool more_bits(int i) { return i < kLayers / 8 || i >= 7 * kLayers / 8 || (i - kLayers / 8) % 3 == 2; }

// The synthetic model's GGUF names as a Hugging Face checkpoint names them.
std::string hf_rename_recipe(const fs::path& input, const fs::path& output) {
  const std::pair<const char*, const char*> parts[] = {
      {"attn_norm", "input_layernorm"}, {"attn_q", "self_attn.q_proj"},      {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},   {"attn_output", "self_attn.o_proj"}, {"ffn_norm", "post_attention_layernorm"},
      {"ffn_gate", "mlp.gate_proj"},    {"ffn_up", "mlp.up_proj"},           {"ffn_down", "mlp.down_proj"}};
  std::string text = "inputs: " + quote(input) + "\noutput: {path: " + quote(output) + "}\nrename:\n  map:\n";
  text += "    token_embd.weight: model.embed_tokens.weight\n    output_norm.weight: model.norm.weight\n";
  text += "    output.weight: lm_head.weight\n";
  for (int i = 0; i < kLayers; ++i)
    for (const auto& [gguf, hf] : parts)
      text += "    blk." + std::to_string(i) + "." + gguf + ".weight: model.layers." + std::to_string(i) + "." + hf +
              ".weight\n";
  return text;
}

}  // namespace

BOOST_AUTO_TEST_CASE(mixed_4_6_example_picks_mlx_lm_widths_and_records_them) {
  qf_test::TempDir dir;
  const fs::path synth = qf_test::synth_model(dir / "synth.safetensors",
                                              "--layers 32 --hidden 64 --ffn 128 --vocab 128 --heads 2 --kv-heads 1");
  qf_test::write_text(dir / "rename.yaml", hf_rename_recipe(synth, dir / "hf.safetensors"));
  run_ok("run -q " + quote(dir / "rename.yaml"));
  run_ok("run -q " + quote(qf_test::repo_dir() / "configs" / "examples" / "mlx-mixed-4-6.yaml") + " --set inputs=" +
         quote(dir / "hf.safetensors") + " --set output.path=" + quote((dir / "mlx").string() + "/"));

  const auto listed = nlohmann::json::parse(run_ok("inspect --json " + quote(dir / "mlx")).out)["tensors"];
  std::map<std::string, std::string> dtype;
  for (const auto& t : listed) dtype[t["name"].get<std::string>()] = t["dtype"].get<std::string>();
  BOOST_CHECK_EQUAL(dtype["lm_head.weight"], "mlx_q6_g64_f32");
  BOOST_CHECK_EQUAL(dtype["model.embed_tokens.weight"], "mlx_q4_g64_f32");
  BOOST_CHECK_EQUAL(dtype["model.norm.weight"], "f32");
  std::set<std::string> six_bit_modules{"lm_head"};
  for (int i = 0; i < kLayers; ++i) {
    const std::string layer = "model.layers." + std::to_string(i) + ".";
    const std::string wide = more_bits(i) ? "mlx_q6_g64_f32" : "mlx_q4_g64_f32";
    BOOST_CHECK_EQUAL(dtype[layer + "self_attn.v_proj.weight"], wide);
    BOOST_CHECK_EQUAL(dtype[layer + "mlp.down_proj.weight"], wide);
    BOOST_CHECK_EQUAL(dtype[layer + "self_attn.q_proj.weight"], "mlx_q4_g64_f32");
    BOOST_CHECK_EQUAL(dtype[layer + "input_layernorm.weight"], "f32");
    if (more_bits(i)) {
      six_bit_modules.insert(layer + "self_attn.v_proj");
      six_bit_modules.insert(layer + "mlp.down_proj");
    }
  }
  // 4 bits is the default; each 6-bit module is an override, in both copies of the block.
  const auto config = nlohmann::json::parse(qf_test::read_bytes(dir / "mlx" / "config.json"));
  for (const char* key : {"quantization", "quantization_config"}) {
    const auto& block = config[key];
    BOOST_CHECK_EQUAL(block["bits"], 4);
    BOOST_CHECK_EQUAL(block["group_size"], 64);
    BOOST_CHECK_EQUAL(block["mode"], "affine");
    std::set<std::string> overrides;
    for (const auto& [module, value] : block.items()) {
      if (!value.is_object()) continue;
      overrides.insert(module);
      BOOST_CHECK_EQUAL(value["bits"], 6);
      BOOST_CHECK_EQUAL(value["group_size"], 64);
    }
    BOOST_CHECK(overrides == six_bit_modules);
  }
  BOOST_CHECK_EQUAL(six_bit_modules.size(), 1u + 2u * 16u);  // 16 of 32 layers by the rule
}
