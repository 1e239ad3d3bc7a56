// Model folders whose files and config.json disagree (mlx-quant.md §1, §4, §6, §7): each is
// refused with exit code 2 and one line naming the folder (or file), the tensor and the reason.
#include "support/model_folders.hpp"

using namespace qf_folder;
using nlohmann::json;
using qf_test::quote;

namespace {

const json kAffine4 = {{"quantization", {{"group_size", 64}, {"bits", 4}}}};

// A 4-bit, groups-of-64 module "w" [2, 64] with f16 scales and biases.
std::vector<Part> module_w() {
  std::mt19937 rng(21);
  return affine_module("w", {2, 64}, 4, 64, "F16", rng).parts;
}

std::vector<Part> without(std::vector<Part> parts, const std::string& name) {
  std::erase_if(parts, [&](const Part& p) { return p.name == name; });
  return parts;
}

// `inspect FOLDER` must fail with exactly this line (after "quantflow: error: ").
void check_refused(const fs::path& folder, const std::string& line) {
  const auto r = qf_test::cli("inspect " + quote(folder));
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + line + "\n");
  BOOST_CHECK_EQUAL(r.out, "");
}

struct Folder {
  qf_test::TempDir tmp;
  fs::path dir = tmp / "m";
  Folder(const json& config, const std::vector<Part>& parts) { write_folder(dir, config, parts); }
  std::string where(const std::string& tensor) const { return dir.string() + ": tensor '" + tensor + "': "; }
};

}  // namespace

BOOST_AUTO_TEST_CASE(mlx_parts_without_their_module) {
  {
    Folder f(kAffine4, without(module_w(), "w.weight"));
    check_refused(f.dir, f.where("w.scales") + "scales without their weight: 'w.weight' is missing");
  }
  {
    Folder f(kAffine4, without(module_w(), "w.scales"));
    check_refused(f.dir, f.where("w.biases") + "biases without scales: 'w.scales' is missing");
  }
  {
    Folder f(kAffine4, without(module_w(), "w.biases"));
    check_refused(f.dir, f.where("w.scales") +
                             "config.json quantizes 'w' as affine 4-bit, groups of 64, which needs 'w.biases'; there "
                             "is none");
  }
  {
    Folder f(json::object(), module_w());
    check_refused(f.dir, f.where("w.scales") + "quantized MLX weights, but config.json has no quantization block");
  }
}

BOOST_AUTO_TEST_CASE(mlx_parts_the_mode_does_not_have) {
  std::mt19937 rng(22);
  auto parts = fp_module("w", {2, 64}, "mxfp4", rng).parts;
  parts.push_back({"w.biases", "U8", {2, 2}, {0, 0, 0, 0}});
  Folder f({{"quantization", {{"group_size", 32}, {"bits", 4}, {"mode", "mxfp4"}}}}, parts);
  check_refused(f.dir, f.where("w.biases") +
                           "config.json quantizes 'w' as mxfp4 4-bit, groups of 32, which has no biases, but "
                           "'w.biases' exists");
}

BOOST_AUTO_TEST_CASE(config_entries_that_contradict_the_weights) {
  {
    Folder f({{"quantization", {{"group_size", 64}, {"bits", 4}, {"w", false}}}}, module_w());
    check_refused(f.dir, f.where("w.scales") + "config.json says 'w' is not quantized, but 'w.scales' exists");
  }
  {
    std::mt19937 rng(23);
    Folder f({{"quantization", {{"group_size", 64}, {"bits", 4}, {"v", {{"bits", 8}}}}}},
             plain_tensor("v.weight", {2, 64}, "F16", rng).parts);
    check_refused(f.dir, f.where("v.weight") + "config.json quantizes 'v', but the weights have no 'v.scales'");
  }
  {
    // Stored as groups of 32; the config says 64.
    std::mt19937 rng(24);
    Folder f(kAffine4, affine_module("w", {2, 64}, 4, 32, "F16", rng).parts);
    check_refused(f.dir, f.where("w.scales") +
                             "config.json quantizes 'w' as affine 4-bit, groups of 64: 'w.weight' [2, 8] needs scales "
                             "[2, 1], but they are f16 [2, 2]");
  }
  {
    // Stored as 8 bits (16 words a row); the config says 4: rows of 128 codes, scales [2, 2].
    std::mt19937 rng(25);
    Folder f(kAffine4, affine_module("w", {2, 64}, 8, 64, "F16", rng).parts);
    check_refused(f.dir, f.where("w.scales") +
                             "config.json quantizes 'w' as affine 4-bit, groups of 64: 'w.weight' [2, 16] needs scales "
                             "[2, 2], but they are f16 [2, 1]");
  }
  {
    // 3 bits, groups of 64: two words a row hold 21.3 codes.
    std::mt19937 rng(26);
    Folder f({{"quantization", {{"group_size", 32}, {"bits", 3}}}},
             affine_module("w", {2, 64}, 4, 32, "F16", rng).parts);
    check_refused(f.dir, f.where("w.weight") +
                             "config.json quantizes 'w' as affine 3-bit, groups of 32: u32 [2, 8] does not hold whole "
                             "3-bit codes");
  }
}

BOOST_AUTO_TEST_CASE(mlx_parts_of_the_wrong_type) {
  {
    auto parts = module_w();
    parts[0] = {"w.weight", "F16", {2, 16}, std::vector<uint8_t>(64)};
    Folder f(kAffine4, parts);
    check_refused(f.dir, f.where("w.weight") + "a quantized MLX weight is U32 codes, not f16 [2, 16]");
  }
  {
    auto parts = module_w();
    parts[2] = {"w.biases", "F32", {2, 1}, std::vector<uint8_t>(8)};
    Folder f(kAffine4, parts);
    check_refused(f.dir, f.where("w.biases") + "biases must match the scales (f16 [2, 1]), not f32 [2, 1]");
  }
  {
    // No codec has 7 bits.
    auto parts = module_w();
    parts[0] = {"w.weight", "U32", {2, 14}, std::vector<uint8_t>(112)};
    Folder f({{"quantization", {{"group_size", 64}, {"bits", 7}}}}, parts);
    check_refused(f.dir, f.where("w.weight") + "no loaded codec holds MLX affine 7-bit groups of 64 with f16 scales");
  }
}

BOOST_AUTO_TEST_CASE(config_json_itself) {
  {
    Folder f({{"quantization", {{"group_size", 64}, {"bits", "4"}}}}, module_w());
    check_refused(f.dir, f.dir.string() + "/config.json: quantization: bits must be a positive integer, not \"4\"");
  }
  {
    Folder f({{"quantization", {{"mode", "int4"}}}}, module_w());
    check_refused(f.dir, f.dir.string() +
                             "/config.json: quantization: unknown MLX quantization mode 'int4' (affine, "
                             "mxfp4, nvfp4, mxfp8)");
  }
  {
    Folder f(kAffine4, module_w());
    qf_test::write_text(f.dir / "config.json", "{\"quantization\": {\n");
    const auto r = qf_test::cli("inspect " + quote(f.dir));
    BOOST_CHECK_EQUAL(r.exit_code, 2);
    BOOST_CHECK_MESSAGE(r.err.starts_with("quantflow: error: " + f.dir.string() + "/config.json: not valid JSON: "),
                        r.err);
    BOOST_CHECK_EQUAL(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  }
  {
    // dump() recurses once per level: such a file must be refused before anything prints it.
    Folder f(kAffine4, module_w());
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    qf_test::write_text(f.dir / "config.json", R"({"quantization": {"bits": )" + deep + "}}");
    check_refused(f.dir, f.dir.string() + "/config.json: the JSON nests deeper than 64 levels");
    qf_test::write_text(f.dir / "config.json", "{}");
    qf_test::write_text(f.dir / "quantize_config.json", R"({"bits": 4, "x": )" + deep + "}");
    check_refused(f.dir, f.dir.string() + "/quantize_config.json: the JSON nests deeper than 64 levels");
  }
  {
    Folder f({{"quantization", {4, 64}}}, module_w());
    check_refused(f.dir, f.dir.string() + "/config.json: quantization must be an object, not array");
  }
  {
    Folder f(json::array({1, 2}), module_w());
    check_refused(f.dir, f.dir.string() + "/config.json: config.json must hold a JSON object");
  }
}

BOOST_AUTO_TEST_CASE(the_files_of_the_folder) {
  {
    // Weights without config.json: the missing file is named.
    Folder f(kAffine4, module_w());
    fs::remove(f.dir / "config.json");
    check_refused(f.dir, f.dir.string() + ": a model folder needs a config.json; there is none");
    // A PEFT adapter folder is named as such.
    qf_test::write_text(f.dir / "adapter_config.json", "{}");
    check_refused(f.dir, f.dir.string() +
                             ": this is a PEFT adapter folder, not a model: convert it with `quantflow convert "
                             "ADAPTER_DIR out.gguf --base BASE_DIR` (docs/hf.md)");
    fs::remove(f.dir / "adapter_config.json");
    // No weights at all: not a model folder.
    fs::remove(f.dir / "model.safetensors");
    check_refused(f.dir, f.dir.string() +
                             ": a folder no loaded container reads as a model (containers reading "
                             "folders: mlx)");
  }
  {
    Folder f(kAffine4, module_w());
    fs::rename(f.dir / "model.safetensors", f.dir / "model-00001-of-00002.safetensors");
    fs::copy_file(f.dir / "model-00001-of-00002.safetensors", f.dir / "model-00002-of-00002.safetensors");
    check_refused(f.dir, f.dir.string() +
                             ": several safetensors files but no model.safetensors.index.json to say how they fit "
                             "together");
  }
  {
    // One file under another name is the weights.
    Folder f(kAffine4, module_w());
    fs::rename(f.dir / "model.safetensors", f.dir / "weights.safetensors");
    BOOST_CHECK_EQUAL(qf_test::cli("inspect " + quote(f.dir)).exit_code, 0);
  }
}

// AutoAWQ variants other than GEMM and GPTQ's 3-bit packing are refused.
BOOST_AUTO_TEST_CASE(awq_and_gptq_configs_that_are_refused) {
  const std::string kGptq3 =
      "quantization config: GPTQ bits 3 is not supported: 3-bit checkpoints pack 32 values into 3 consecutive words "
      "as one 96-bit stream with values straddling word boundaries, a layout no reference decoder (llama.cpp's "
      "converter, mlx-lm) reads to validate against";
  const std::vector<Part> awq = {{"l.qweight", "I32", {64, 2}, std::vector<uint8_t>(512)},
                                 {"l.qzeros", "I32", {2, 2}, std::vector<uint8_t>(16)},
                                 {"l.scales", "F16", {2, 16}, std::vector<uint8_t>(64)}};
  {
    Folder f({{"quantization_config",
               {{"quant_method", "awq"}, {"bits", 4}, {"group_size", 32}, {"zero_point", true}, {"version", "gemv"}}}},
             awq);
    check_refused(f.dir, f.dir.string() +
                             "/config.json: quantization config: AWQ version 'gemv' is not supported: only the GEMM "
                             "layout is decoded (the GEMV, Marlin and ExLlama variants pack qweight and qzeros "
                             "differently)");
  }
  const std::vector<Part> gptq = {{"l.qweight", "I32", {6, 16}, std::vector<uint8_t>(384)},
                                  {"l.qzeros", "I32", {2, 1}, std::vector<uint8_t>(8)},
                                  {"l.scales", "F16", {2, 16}, std::vector<uint8_t>(64)}};
  {
    Folder f({{"quantization_config", {{"quant_method", "gptq"}, {"bits", 3}, {"group_size", 32}}}}, gptq);
    check_refused(f.dir, f.dir.string() + "/config.json: " + kGptq3);
  }
  {
    Folder f(json::object(), gptq);
    qf_test::write_text(f.dir / "quantize_config.json", R"({"bits": 3, "group_size": 32})");
    check_refused(f.dir, f.dir.string() + "/quantize_config.json: " + kGptq3);
  }
}

// A layer's parts must come together, and a layer has one weight.
BOOST_AUTO_TEST_CASE(awq_and_gptq_parts_without_their_layer) {
  const json config = {{"quantization_config", {{"quant_method", "gptq"}, {"bits", 4}, {"group_size", 32}}}};
  const Part qweight = {"l.qweight", "I32", {8, 16}, std::vector<uint8_t>(512)};
  const Part qzeros = {"l.qzeros", "I32", {2, 2}, std::vector<uint8_t>(16)};
  const Part scales = {"l.scales", "F16", {2, 16}, std::vector<uint8_t>(64)};
  {
    Folder f(config, {qzeros, scales});
    check_refused(f.dir, f.where("l.qzeros") + "GPTQ layer part without its codes: 'l.qweight' is missing");
  }
  {
    Folder f(config, {qweight, qzeros});
    check_refused(f.dir, f.where("l.qweight") + "GPTQ codes without scales: 'l.scales' is missing");
  }
  {
    Folder f(config, {qweight, qzeros, scales, {"l.weight", "F16", {16, 64}, std::vector<uint8_t>(2048)}});
    check_refused(f.dir, f.where("l.weight") + "both 'l.weight' and 'l.qweight' exist");
  }
  {
    Folder f(config, {qweight, qzeros, {"l.scales", "F16", {3, 16}, std::vector<uint8_t>(96)}});
    check_refused(f.dir, f.where("l.qweight") +
                             "GPTQ scales: shape [3, 16], expected [2, 16] ([groups, out] with in 64 (qweight rows * "
                             "32 / bits 4), 2 groups, out 16)");
  }
}
