// Hugging Face checkpoints stored in FP8 with 128x128 block factors (`quant_method: fp8`,
// NAME.weight F8_E4M3 + NAME.weight_scale_inv): each weight reads as F32, code x its block's
// factor computed in float32, tensor by tensor; a factor tensor that does not fit is refused.
#include <bit>

#include "support/model_folders.hpp"

using namespace qf_folder;
using qf_test::quote;

namespace {

const nlohmann::json kFp8Config = {
    {"architectures", {"Qwen3ForCausalLM"}},
    {"torch_dtype", "bfloat16"},
    {"quantization_config", {{"quant_method", "fp8"}, {"fmt", "e4m3"}, {"weight_block_size", {128, 128}}}}};

constexpr uint64_t kRows = 130, kCols = 320;  // blocks of 128 leave a partial block both ways

struct Fp8Weight {
  std::vector<uint8_t> codes;
  std::vector<float> factors;  // [2, 3]
};

Fp8Weight random_weight() {
  std::mt19937 rng(7);
  Fp8Weight w;
  for (uint64_t i = 0; i < kRows * kCols; ++i) {
    auto code = static_cast<uint8_t>(rng());
    if ((code & 0x7F) == 0x7F) code ^= 1;  // 0x7F and 0xFF are NaN in F8_E4M3
    w.codes.push_back(code);
  }
  // 7 significant bits: BF16 holds each factor exactly.
  for (int i = 0; i < 6; ++i) w.factors.push_back(std::ldexp(1.0f + static_cast<float>(rng() % 128) / 128.0f, -9));
  return w;
}

std::vector<Part> parts_of(const Fp8Weight& w, const std::string& factor_dtype = "F32",
                           std::vector<uint64_t> factor_shape = {2, 3}) {
  std::vector<uint8_t> factors;
  for (float f : w.factors) {
    if (factor_dtype == "F32")
      put_le(factors, std::bit_cast<uint32_t>(f));
    else
      put_le(factors, static_cast<uint16_t>(std::bit_cast<uint32_t>(f) >> 16));
  }
  std::vector<uint8_t> norm;
  for (int i = 0; i < static_cast<int>(kCols); ++i) put_le(norm, std::bit_cast<uint32_t>(1.0f + 0.5f * i));
  return {{"layers.0.w.weight", "F8_E4M3", {kRows, kCols}, w.codes},
          {"layers.0.w.weight_scale_inv", factor_dtype, factor_shape, factors},
          {"layers.0.norm.weight", "F32", {kCols}, norm}};
}

std::vector<float> expected_values(const Fp8Weight& w) {
  std::vector<float> out;
  for (uint64_t r = 0; r < kRows; ++r)
    for (uint64_t c = 0; c < kCols; ++c) {
      // MLX's reader turns 0x7F into 480; with no 0x7F codes here its E4M3FN table is the standard one.
      out.push_back(e4m3fn_value(w.codes[r * kCols + c]) * w.factors[(r / 128) * 3 + c / 128]);
    }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(fp8_weights_read_as_their_block_scaled_values) {
  qf_test::TempDir tmp;
  const Fp8Weight w = random_weight();
  const fs::path dir = write_folder(tmp / "fp8", kFp8Config, parts_of(w));
  const auto listed = nlohmann::json::parse(cli_ok("inspect --json " + quote(dir)).out);
  std::vector<std::string> names;
  for (const auto& t : listed["tensors"])
    names.push_back(t["name"].get<std::string>() + " " + t["dtype"].get<std::string>());
  BOOST_CHECK_EQUAL(names.size(), 2u);  // the factors are part of their weight
  BOOST_CHECK_EQUAL(names[0], "layers.0.w.weight f32");
  const auto values = decoded(dir);
  check_same_floats(values.at("layers.0.w.weight"), expected_values(w));
  BOOST_CHECK_EQUAL(values.at("layers.0.norm.weight")[3], 2.5f);

  // BF16 factors, and straight to another encoding: no FP8 claim survives in the config.
  const Fp8Weight again = random_weight();
  const fs::path bf = write_folder(tmp / "fp8-bf16", kFp8Config, parts_of(again, "BF16"));
  check_same_floats(decoded(bf).at("layers.0.w.weight"), expected_values(again));
  cli_ok("convert -q " + quote(bf) + " " + quote((tmp / "q8").string() + "/") + " --type mlx_q8");
  const auto config = read_json(tmp / "q8" / "config.json");
  BOOST_CHECK_EQUAL(config["quantization_config"]["bits"], 8);
  BOOST_CHECK(!config["quantization_config"].contains("quant_method"));
}

BOOST_AUTO_TEST_CASE(fp8_factors_that_do_not_fit_are_refused) {
  qf_test::TempDir tmp;
  const Fp8Weight w = random_weight();
  const auto refused = [&](const fs::path& dir, const std::string& line) {
    const auto r = qf_test::cli("inspect " + quote(dir));
    BOOST_CHECK_EQUAL(r.exit_code, 2);
    BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + line + "\n");
  };
  const fs::path shape = write_folder(tmp / "shape", kFp8Config, parts_of(w, "F32", {1, 6}));
  refused(shape, shape.string() +
                     ": tensor 'layers.0.w.weight_scale_inv': block factors of 'layers.0.w.weight' [130, 320] in "
                     "blocks of 128x128 must be F32 or BF16 [2, 3], not f32 [1, 6]");
  auto parts = parts_of(w);
  parts.erase(parts.begin());
  const fs::path alone = write_folder(tmp / "alone", kFp8Config, parts);
  refused(alone, alone.string() +
                     ": tensor 'layers.0.w.weight_scale_inv': FP8 block factors without their weight: "
                     "'layers.0.w.weight' is missing");
  auto config = kFp8Config;
  config["quantization_config"]["weight_block_size"] = {128};
  const fs::path block = write_folder(tmp / "block", config, parts_of(w));
  refused(block, block.string() +
                     "/config.json: quantization_config: weight_block_size must be two positive integers, not [128]");
}
