// MLX folders written by quantflow (mlx-quant.md §1, §4, §5): a synthetic model to every MLX
// encoding, the stored parts' shapes and dtypes, config.json, values by the document's formulas,
// and folder -> folder without --type giving the same files byte for byte; mixed encodings
// and per-module overrides through a recipe; shards with mlx-lm's names and index.
#include <set>

#include "support/model_folders.hpp"

using namespace qf_folder;
using nlohmann::json;
using qf_test::quote;

namespace {

const std::string kShape = "--layers 1 --hidden 128 --ffn 256 --vocab 128 --heads 2 --kv-heads 1";

// The synthetic model in f32, f16 and bf16 (its matrices; vectors stay f32).
struct Models {
  qf_test::TempDir tmp;
  fs::path f32 = qf_test::synth_model(tmp / "f32.safetensors", kShape);
  fs::path f16 = tmp / "f16.safetensors", bf16 = tmp / "bf16.safetensors";
  Models() {
    cli_ok("convert -q " + quote(f32) + " " + quote(f16) + " --type f16");
    cli_ok("convert -q " + quote(f32) + " " + quote(bf16) + " --type bf16");
  }
};

const Models& models() {
  static const Models m;
  return m;
}

// The 12 tensors of the synthetic model: 7 matrices (quantized) and 2 norms per layer, plus output_norm.
const std::vector<std::string> kMatrices = {"token_embd",   "blk.0.attn_q",      "blk.0.attn_k",
                                            "blk.0.attn_v", "blk.0.attn_output", "blk.0.ffn_gate",
                                            "blk.0.ffn_up", "blk.0.ffn_down",    "output"};

json block(int bits, int group, const std::string& mode) {
  return {{"bits", bits}, {"group_size", group}, {"mode", mode}};
}

std::map<std::string, quantflow::Shape> shapes_of(const fs::path& file) {
  auto reader = qf_test::plugins().open_reader(file.string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  std::map<std::string, quantflow::Shape> out;
  for (const auto& t : (*reader)->tensors()) out[t.name] = t.shape;
  return out;
}

// Converts `model` to a folder with `type_args`, checks the stored parts of every matrix, the
// config's quantization block, the decoded values and the folder -> folder copy.
void check_encoding(const fs::path& model, const std::string& type_args, const std::string& codec,
                    const std::string& mode, int bits, int group, const std::string& scale_dtype) {
  BOOST_TEST_CONTEXT(type_args << " from " << model.filename()) {
    qf_test::TempDir tmp;
    const fs::path a = tmp / "a", b = tmp / "b";
    cli_ok("convert -q " + quote(model) + " " + quote(a) + "/ " + type_args);
    BOOST_CHECK((qf_test::listing(a) == std::vector<std::string>{"config.json", "model.safetensors"}));
    const json config = read_json(a / "config.json");
    BOOST_CHECK_EQUAL(
        config, json({{"quantization", block(bits, group, mode)}, {"quantization_config", block(bits, group, mode)}}));
    const auto stored = qf_test::tensors_of(a / "model.safetensors");
    const auto shapes = shapes_of(a / "model.safetensors");
    const auto folder = shapes_of(a);
    const auto values = decoded(a);
    for (const auto& m : kMatrices) {
      BOOST_TEST_CONTEXT(m) {
        const quantflow::Shape logical = folder.at(m + ".weight");
        BOOST_CHECK_EQUAL(stored.at(m + ".weight").type, "u32");
        BOOST_CHECK((shapes.at(m + ".weight") == quantflow::Shape{logical[0], logical[1] * bits / 32}));
        BOOST_CHECK_EQUAL(stored.at(m + ".scales").type, scale_dtype);
        BOOST_CHECK((shapes.at(m + ".scales") == quantflow::Shape{logical[0], logical[1] / group}));
        BOOST_CHECK_EQUAL(stored.count(m + ".biases"), mode == "affine" ? 1u : 0u);
        if (mode == "affine") BOOST_CHECK((shapes.at(m + ".biases") == shapes.at(m + ".scales")));
        check_same_floats(values.at(m + ".weight"), module_values(stored, m, mode, bits, group));
      }
    }
    BOOST_CHECK_EQUAL(stored.size(), kMatrices.size() * (mode == "affine" ? 3 : 2) + 3);
    BOOST_CHECK_EQUAL(stored.at("output_norm.weight").type, "f32");
    auto reader = qf_test::plugins().open_reader(a.string());
    BOOST_REQUIRE(reader.ok());
    for (const auto& t : (*reader)->tensors())
      if (t.shape.size() == 2) BOOST_CHECK_EQUAL(t.dtype.name, codec);
    // Folder -> folder: the same files.
    cli_ok("convert -q " + quote(a) + " " + quote(b) + "/");
    BOOST_CHECK((qf_test::listing(b) == qf_test::listing(a)));
    BOOST_CHECK(qf_test::read_bytes(b / "model.safetensors") == qf_test::read_bytes(a / "model.safetensors"));
    BOOST_CHECK(qf_test::read_bytes(b / "config.json") == qf_test::read_bytes(a / "config.json"));
  }
}

}  // namespace

// Bits 2..8 x groups 32, 64, 128 with f16, bf16 and f32 scales, each type spelled another way:
// full names (f32), the family name with --group-size (f16 model), --type mlx --bits (bf16 model).
BOOST_AUTO_TEST_CASE(every_affine_encoding_round_trips) {
  for (const int bits : {2, 3, 4, 5, 6, 8})
    for (const int group : {32, 64, 128}) {
      const std::string family = "mlx_q" + std::to_string(bits), g = std::to_string(group);
      check_encoding(models().f32, "--type " + family + "_g" + g + "_f32", family + "_g" + g + "_f32", "affine", bits,
                     group, "f32");
      check_encoding(models().f16, "--type " + family + " --group-size " + g, family + "_g" + g + "_f16", "affine",
                     bits, group, "f16");
      check_encoding(models().bf16, "--type mlx --bits " + std::to_string(bits) + " --group-size " + g,
                     family + "_g" + g + "_bf16", "affine", bits, group, "bf16");
    }
}

BOOST_AUTO_TEST_CASE(the_floating_modes_round_trip) {
  check_encoding(models().f32, "--type mlx --mode mxfp4", "mlx_mxfp4", "mxfp4", 4, 32, "u8");
  check_encoding(models().f16, "--type mlx_mxfp8", "mlx_mxfp8", "mxfp8", 8, 32, "u8");
  check_encoding(models().bf16, "--type mlx --mode nvfp4", "mlx_nvfp4", "nvfp4", 4, 16, "u8");
}

// The family name's defaults: groups of 64, scales in the model's float type; config.json as
// mlx-lm writes it; the safetensors header says format mlx.
BOOST_AUTO_TEST_CASE(the_family_name_and_config_json_of_a_uniform_model) {
  qf_test::TempDir tmp;
  cli_ok("convert -q " + quote(models().bf16) + " " + quote(tmp / "a") + "/ --type mlx_q4");
  const std::string want = R"({
    "quantization": {
        "bits": 4,
        "group_size": 64,
        "mode": "affine"
    },
    "quantization_config": {
        "bits": 4,
        "group_size": 64,
        "mode": "affine"
    }
}
)";
  const auto text = qf_test::read_bytes(tmp / "a" / "config.json");
  BOOST_CHECK_EQUAL(std::string(text.begin(), text.end()), want);
  BOOST_CHECK_EQUAL(shapes_of(tmp / "a").size(), 12u);
  auto reader = qf_test::plugins().open_reader((tmp / "a").string());
  BOOST_REQUIRE(reader.ok());
  BOOST_CHECK_EQUAL((*reader)->tensors()[0].dtype.name, "mlx_q4_g64_bf16");
  const auto header = qf_test::metadata_of(tmp / "a" / "model.safetensors");
  const quantflow::MetaValue* format = header.find("format");
  BOOST_REQUIRE(format);
  BOOST_CHECK_EQUAL(format->text, "mlx");
}

// A recipe mixes encodings: most matrices 4-bit groups of 32 (the defaults), ffn_down 6-bit
// groups of 64 and the output mxfp4 (per-module dicts), the embedding plain f16 (no entry: it
// has no scales). Reading the folder and writing it again keeps the block and every byte.
BOOST_AUTO_TEST_CASE(mixed_encodings_write_per_module_overrides) {
  qf_test::TempDir tmp;
  const fs::path recipe = tmp / "mixed.yaml", a = tmp / "a", b = tmp / "b";
  qf_test::write_text(recipe, "inputs: " + models().f16.string() + "\noutput: " + a.string() +
                                  "/\ndefault_type: mlx_q4_g32_f16\ntensors:\n"
                                  "  - {glob: \"*ffn_down*\", type: mlx_q6_g64_f16}\n"
                                  "  - {name: output.weight, type: mlx_mxfp4}\n"
                                  "  - {name: token_embd.weight, type: f16}\n");
  cli_ok("run -q " + quote(recipe));
  const json quantization = {{"bits", 4},
                             {"group_size", 32},
                             {"mode", "affine"},
                             {"blk.0.ffn_down", block(6, 64, "affine")},
                             {"output", block(4, 32, "mxfp4")}};
  BOOST_CHECK_EQUAL(read_json(a / "config.json"),
                    json({{"quantization", quantization}, {"quantization_config", quantization}}));
  const auto stored = qf_test::tensors_of(a / "model.safetensors");
  BOOST_CHECK_EQUAL(stored.at("token_embd.weight").type, "f16");
  BOOST_CHECK_EQUAL(stored.count("token_embd.scales"), 0u);
  const auto values = decoded(a);
  check_same_floats(values.at("blk.0.ffn_down.weight"), module_values(stored, "blk.0.ffn_down", "affine", 6, 64));
  check_same_floats(values.at("output.weight"), module_values(stored, "output", "mxfp4", 4, 32));
  check_same_floats(values.at("blk.0.attn_q.weight"), module_values(stored, "blk.0.attn_q", "affine", 4, 32));
  cli_ok("convert -q " + quote(a) + " " + quote(b) + "/");
  BOOST_CHECK(qf_test::read_bytes(b / "model.safetensors") == qf_test::read_bytes(a / "model.safetensors"));
  BOOST_CHECK(qf_test::read_bytes(b / "config.json") == qf_test::read_bytes(a / "config.json"));
}

// A folder as mx.save_safetensors writes it, with dicts that name some keys only, `false` for a
// plain module, and its own model settings: written again, the settings stay, each dict is
// complete (mode defaults filled in) and `false` goes (a module without scales loads
// unquantized anyway, §4).
BOOST_AUTO_TEST_CASE(a_folder_read_with_overrides_is_written_with_them) {
  qf_test::TempDir tmp;
  std::mt19937 rng(31);
  std::vector<Part> parts;
  for (const auto* name : {"l0.q", "l0.k", "l0.v"})
    append_parts(parts, affine_module(name, {2, 128}, 4, 32, "F16", rng));
  append_parts(parts, affine_module("l0.down", {2, 128}, 8, 64, "F16", rng));
  append_parts(parts, fp_module("head", {2, 128}, "nvfp4", rng));
  append_parts(parts, plain_tensor("l0.gate.weight", {2, 128}, "F16", rng));
  const json in_block = {
      {"group_size", 32}, {"bits", 4}, {"l0.down", {{"bits", 8}}}, {"head", {{"mode", "nvfp4"}}}, {"l0.gate", false}};
  write_folder(tmp / "a", {{"model_type", "llama"}, {"torch_dtype", "float16"}, {"quantization", in_block}}, parts,
               Layout::mlx);
  cli_ok("convert -q " + quote(tmp / "a") + " " + quote(tmp / "b") + "/");
  const json out_block = {{"bits", 4},
                          {"group_size", 32},
                          {"mode", "affine"},
                          {"l0.down", block(8, 64, "affine")},
                          {"head", block(4, 16, "nvfp4")}};
  BOOST_CHECK_EQUAL(read_json(tmp / "b" / "config.json"), json({{"model_type", "llama"},
                                                                {"torch_dtype", "float16"},
                                                                {"quantization", out_block},
                                                                {"quantization_config", out_block}}));
  // Every stored part keeps its bytes (in quantflow's layout: padded header, data in key order).
  const auto before = qf_test::tensors_of(tmp / "a" / "model.safetensors");
  const auto after = qf_test::tensors_of(tmp / "b" / "model.safetensors");
  BOOST_CHECK(before == after);
  // And b reads back to the same logical tensors.
  BOOST_CHECK(qf_test::tensors_of(tmp / "a") == qf_test::tensors_of(tmp / "b"));
}

// A split output: mlx-lm's shard names, an index whose weight_map names every stored part
// (NAME.weight, NAME.scales, NAME.biases) once with the shard holding it, total_size the sum of
// the parts' bytes; the folder reads back as the same logical tensors as the unsplit one.
BOOST_AUTO_TEST_CASE(split_folders_have_mlx_lm_names_and_index) {
  qf_test::TempDir tmp;
  const fs::path recipe = tmp / "split.yaml", split = tmp / "split", whole = tmp / "whole";
  qf_test::write_text(recipe, "inputs: " + models().f16.string() + "\noutput:\n  path: " + split.string() +
                                  "/\n  split_size: 40K\ntensors:\n  - {dims: 2, type: mlx_q8_g32_f16}\n");
  cli_ok("run -q " + quote(recipe));
  cli_ok("convert -q " + quote(models().f16) + " " + quote(whole) + "/ --type mlx_q8_g32_f16");
  const auto files = qf_test::listing(split);
  const size_t shards = files.size() - 2;
  BOOST_REQUIRE_GE(shards, 3u);
  std::vector<std::string> want = {"config.json"};
  for (size_t i = 1; i <= shards; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i, shards);
    want.push_back(name);
  }
  want.push_back("model.safetensors.index.json");
  BOOST_CHECK((files == want));
  const json index = read_json(split / "model.safetensors.index.json");
  json weight_map = json::object();
  uint64_t total = 0;
  for (size_t i = 1; i <= shards; ++i) {
    // Each shard's own header: opening a shard reads the whole checkpoint (the first) or is
    // refused (a later one), so the parts are taken from the file itself.
    const auto bytes = qf_test::read_bytes(split / want[i]);
    uint64_t header_length = 0;
    std::memcpy(&header_length, bytes.data(), sizeof header_length);
    const json header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_length));
    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") continue;
      weight_map[name] = want[i];
      total += entry["data_offsets"][1].get<uint64_t>() - entry["data_offsets"][0].get<uint64_t>();
    }
  }
  BOOST_CHECK_EQUAL(index["weight_map"], weight_map);
  BOOST_CHECK_EQUAL(index["metadata"]["total_size"], total);
  for (const auto& m : kMatrices)
    for (const char* part : {".weight", ".scales", ".biases"}) BOOST_CHECK(weight_map.contains(m + part));
  BOOST_CHECK_EQUAL(weight_map.size(), kMatrices.size() * 3 + 3);
  BOOST_CHECK_EQUAL(read_json(split / "config.json"), read_json(whole / "config.json"));
  BOOST_CHECK(qf_test::tensors_of(split) == qf_test::tensors_of(whole));
  // The split folder written as one file stores the unsplit folder's parts, byte for byte (in
  // another order: the index reader takes shards in order of first mention in weight_map).
  cli_ok("convert -q " + quote(split) + " " + quote(tmp / "joined") + "/");
  BOOST_CHECK(qf_test::tensors_of(tmp / "joined" / "model.safetensors") ==
              qf_test::tensors_of(whole / "model.safetensors"));
}
