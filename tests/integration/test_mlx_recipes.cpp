// MLX outputs from recipes and recipe presets: configs/examples/mlx-mixed-4-6.yaml on a 32-layer
// checkpoint with Hugging Face names gives mlx-lm's mixed_4_6 choice per tensor and the matching
// config.json; the mixed_* presets give the same through `quantize` and a recipe's `preset:`.
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

// A Hugging Face model folder (config.json + model.safetensors) of `layers` llama blocks.
fs::path hf_folder(const fs::path& dir, int layers = kLayers) {
  const fs::path synth =
      qf_test::synth_model(dir / "synth.safetensors", "--layers " + std::to_string(layers) +
                                                          " --hidden 64 --ffn 128 --vocab 128 --heads 2 --kv-heads 1");
  fs::create_directories(dir / "hf");
  qf_test::write_text(dir / "rename.yaml", hf_rename_recipe(synth, dir / "hf" / "model.safetensors"));
  run_ok("run -q " + quote(dir / "rename.yaml"));
  qf_test::write_text(dir / "hf" / "config.json",
                      "{\"model_type\": \"llama\", \"num_hidden_layers\": " + std::to_string(layers) + "}");
  return dir / "hf";
}

std::map<std::string, std::string> dtypes_of(const fs::path& model) {
  std::map<std::string, std::string> out;
  const auto listed = nlohmann::json::parse(run_ok("inspect --json " + quote(model)).out);
  for (const auto& t : listed["tensors"]) out[t["name"].get<std::string>()] = t["dtype"].get<std::string>();
  return out;
}

std::string layer_tensor(int i, const char* part) {
  return "model.layers." + std::to_string(i) + "." + part + ".weight";
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

BOOST_AUTO_TEST_CASE(quantize_with_the_mixed_4_6_preset_writes_what_the_example_recipe_writes) {
  qf_test::TempDir dir;
  hf_folder(dir.path);  // to bf16 throughout, norms included, as Hugging Face checkpoints are
  qf_test::write_text(dir / "bf16.yaml",
                      "inputs: hf/\noutput: {path: bf16/}\ndefault_type: bf16\nprotected_type: bf16\n");
  run_ok("run -q " + quote(dir / "bf16.yaml"));
  const fs::path hf = dir / "bf16";
  run_ok("run -q " + quote(qf_test::repo_dir() / "configs" / "examples" / "mlx-mixed-4-6.yaml") + " --set inputs=" +
         quote(hf.string() + "/") + " --set output.path=" + quote((dir / "by-recipe").string() + "/"));
  const auto r =
      run_ok("quantize " + quote(hf.string() + "/") + " " + quote((dir / "by-preset").string() + "/") + " mixed_4_6");
  // Scales in the checkpoint's type; what mlx-lm does not quantize stays in it too.
  auto dtype = dtypes_of(dir / "by-preset");
  BOOST_CHECK_EQUAL(dtype["lm_head.weight"], "mlx_q6_g64_bf16");
  BOOST_CHECK_EQUAL(dtype[layer_tensor(1, "self_attn.q_proj")], "mlx_q4_g64_bf16");
  BOOST_CHECK_EQUAL(dtype["model.norm.weight"], "bf16");
  BOOST_CHECK_EQUAL(dtype[layer_tensor(1, "input_layernorm")], "bf16");
  BOOST_CHECK_EQUAL(r.out.substr(0, r.out.find(':')), "wrote " + (dir / "by-preset").string() + "/ (mixed_4_6)");
  for (const char* file : {"model.safetensors", "config.json"})
    BOOST_CHECK_MESSAGE(qf_test::read_bytes(dir / "by-recipe" / file) == qf_test::read_bytes(dir / "by-preset" / file),
                        file);
}

BOOST_AUTO_TEST_CASE(mixed_3_6_without_an_output_writes_a_folder_beside_the_input) {
  qf_test::TempDir dir;
  const fs::path hf = hf_folder(dir.path);
  const auto dry = run_ok("quantize " + quote(hf) + " mixed_3_6 --dry-run");
  BOOST_CHECK(dry.out.find("\nmixed_3_6: 291 tensors, ") != std::string::npos);  // no file_type: MLX has none
  run_ok("quantize -q " + quote(hf) + " mixed_3_6");
  auto dtype = dtypes_of(dir / "hf-mixed_3_6");
  BOOST_CHECK_EQUAL(dtype["lm_head.weight"], "mlx_q6_g64_f32");
  BOOST_CHECK_EQUAL(dtype["model.embed_tokens.weight"], "mlx_q3_g64_f32");
  BOOST_CHECK_EQUAL(dtype["model.norm.weight"], "f32");
  for (int i = 0; i < kLayers; ++i) {
    BOOST_CHECK_EQUAL(dtype[layer_tensor(i, "self_attn.v_proj")], more_bits(i) ? "mlx_q6_g64_f32" : "mlx_q3_g64_f32");
    BOOST_CHECK_EQUAL(dtype[layer_tensor(i, "mlp.down_proj")], more_bits(i) ? "mlx_q6_g64_f32" : "mlx_q3_g64_f32");
    BOOST_CHECK_EQUAL(dtype[layer_tensor(i, "mlp.up_proj")], "mlx_q3_g64_f32");
  }
  // --pure: the preset's default for everything it quantizes, lm_head included.
  run_ok("quantize -q " + quote(hf) + " " + quote((dir / "pure").string() + "/") + " mixed_3_6 --pure");
  dtype = dtypes_of(dir / "pure");
  BOOST_CHECK_EQUAL(dtype["lm_head.weight"], "mlx_q3_g64_f32");
  BOOST_CHECK_EQUAL(dtype[layer_tensor(0, "self_attn.v_proj")], "mlx_q3_g64_f32");
}

BOOST_AUTO_TEST_CASE(a_recipe_naming_a_recipe_preset_puts_its_own_rules_first) {
  qf_test::TempDir dir;
  const fs::path hf = hf_folder(dir.path, 8);
  qf_test::write_text(dir / "r.yaml",
                      "inputs: hf/\noutput: {path: out/}\npreset: mixed_2_6\ntensors:\n"
                      "  - {glob: '*.q_proj.weight', type: mlx_q8}\n"
                      "  - {name: model.embed_tokens.weight, type: keep}\n");
  const auto r = run_ok("run -q " + quote(dir / "r.yaml"));
  BOOST_CHECK_EQUAL(r.err, "");  // the preset's v_a_proj rules match nothing here, and that is no mistake
  auto dtype = dtypes_of(dir / "out");
  BOOST_CHECK_EQUAL(dtype[layer_tensor(0, "self_attn.q_proj")], "mlx_q8_g64_f32");
  BOOST_CHECK_EQUAL(dtype[layer_tensor(0, "self_attn.k_proj")], "mlx_q2_g64_f32");
  BOOST_CHECK_EQUAL(dtype[layer_tensor(0, "self_attn.v_proj")], "mlx_q6_g64_f32");
  BOOST_CHECK_EQUAL(dtype[layer_tensor(1, "self_attn.v_proj")], "mlx_q2_g64_f32");
  BOOST_CHECK_EQUAL(dtype["model.embed_tokens.weight"], "f32");
  BOOST_CHECK_EQUAL(dtype["lm_head.weight"], "mlx_q6_g64_f32");

  qf_test::write_text(dir / "bad.yaml",
                      "inputs: hf/\noutput: {path: out2/}\npreset: mixed_2_6\npreset_options: {pure: true}\n");
  const auto bad = cli("run " + quote(dir / "bad.yaml"));
  BOOST_CHECK_EQUAL(bad.exit_code, 2);
  BOOST_CHECK_EQUAL(bad.err, "quantflow: error: " + (dir / "bad.yaml").string() +
                                 ":4:17: 'preset_options' are llama-quantize's switches; mixed_2_6 is a recipe preset "
                                 "(write rules under 'tensors' instead)\n");
  BOOST_CHECK(!fs::exists(dir / "out2"));
}

BOOST_AUTO_TEST_CASE(llama_quantize_switches_are_refused_with_a_recipe_preset) {
  qf_test::TempDir dir;
  const fs::path hf = hf_folder(dir.path, 8);
  const auto r =
      cli("quantize " + quote(hf) + " " + quote((dir / "out").string() + "/") + " mixed_4_6 --leave-output-tensor");
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err,
                    "quantflow: error: --leave-output-tensor is a switch of llama-quantize's presets; mixed_4_6 is a "
                    "recipe preset (write a recipe with a rule instead, docs/recipes.md)\n");
  BOOST_CHECK(!fs::exists(dir / "out"));
}

// mlx-lm quantizes Linear and Embedding layers, never convolutions: a family leaves a tensor
// whose name says conv as it is, and a rule naming it still quantizes it.
BOOST_AUTO_TEST_CASE(families_leave_convolutions_unquantized_unless_a_rule_names_them) {
  qf_test::TempDir dir;
  const fs::path synth =
      qf_test::synth_model(dir / "synth.safetensors", "--layers 1 --hidden 64 --ffn 128 --vocab 128 --heads 2");
  qf_test::write_text(dir / "rename.yaml",
                      "inputs: synth.safetensors\noutput: {path: conv.safetensors}\n"
                      "rename: {map: {blk.0.attn_q.weight: model.layers.0.conv1d.weight}}\n");
  run_ok("run -q " + quote(dir / "rename.yaml"));
  run_ok("convert -q " + quote(dir / "conv.safetensors") + " " + quote(dir / "a.safetensors") + " --type mlx_q4");
  BOOST_CHECK_EQUAL(dtypes_of(dir / "a.safetensors")["model.layers.0.conv1d.weight"], "f32");
  BOOST_CHECK_EQUAL(dtypes_of(dir / "a.safetensors")["blk.0.attn_k.weight"], "mlx_q4_g64_f32");
  qf_test::write_text(dir / "r.yaml",
                      "inputs: conv.safetensors\noutput: {path: b.safetensors}\n"
                      "default_type: mlx_q4\ntensors: [{glob: '*conv1d*', type: mlx_q8}]\n");
  run_ok("run -q " + quote(dir / "r.yaml"));
  BOOST_CHECK_EQUAL(dtypes_of(dir / "b.safetensors")["model.layers.0.conv1d.weight"], "mlx_q8_g64_f32");
  qf_test::write_text(dir / "r.yaml",
                      "inputs: conv.safetensors\noutput: {path: c.safetensors}\n"
                      "default_type: mlx_q4\n");
  run_ok("run -q " + quote(dir / "r.yaml"));
  BOOST_CHECK_EQUAL(dtypes_of(dir / "c.safetensors")["model.layers.0.conv1d.weight"], "f32");
}
