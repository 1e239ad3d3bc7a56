// Hugging Face checkpoints storing MXFP4 weights as NAME_blocks + NAME_scales (gpt-oss): read as
// one mlx_mxfp4 tensor whose values are E8M0 scale times the E2M1 code (element 2b in the low
// nibble of byte b), and refused, naming the tensor, when a part is missing or misshapen.
#include <cmath>

#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;

namespace {

struct Part {
  std::string name, dtype;
  std::vector<uint64_t> shape;
  std::vector<uint8_t> bytes;
};

// A safetensors file written from the format's definition (no quantflow code involved).
void write_safetensors(const fs::path& path, const std::vector<Part>& parts) {
  nlohmann::json header = {{"__metadata__", {{"format", "pt"}}}};
  std::vector<uint8_t> data;
  for (const auto& p : parts) {
    header[p.name] = {
        {"dtype", p.dtype}, {"shape", p.shape}, {"data_offsets", {data.size(), data.size() + p.bytes.size()}}};
    data.insert(data.end(), p.bytes.begin(), p.bytes.end());
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<uint8_t> file(8);
  for (int i = 0; i < 8; ++i) file[i] = static_cast<uint8_t>((text.size() >> (8 * i)) & 0xff);
  file.insert(file.end(), text.begin(), text.end());
  file.insert(file.end(), data.begin(), data.end());
  qf_test::write_bytes(path, file.data(), file.size());
}

void write_folder(const fs::path& dir, const std::vector<Part>& parts) {
  fs::create_directories(dir);
  qf_test::write_text(dir / "config.json",
                      R"({"model_type": "gpt_oss", "quantization_config": {"quant_method": "mxfp4"}})");
  write_safetensors(dir / "model.safetensors", parts);
}

constexpr float kE2M1[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};

}  // namespace

BOOST_AUTO_TEST_CASE(blocks_and_scales_read_as_mxfp4_values) {
  qf_test::TempDir dir;
  // Two rows of three groups; byte b of a group holds elements 2b (low) and 2b + 1 (high).
  std::vector<uint8_t> blocks(2 * 3 * 16), scales = {127, 128, 126, 130, 125, 127};
  for (size_t i = 0; i < blocks.size(); ++i) blocks[i] = static_cast<uint8_t>((i * 37 + 11) & 0xff);
  write_folder(dir / "m", {{"mlp.experts_blocks", "U8", {2, 3, 16}, blocks},
                           {"mlp.experts_scales", "U8", {2, 3}, scales},
                           {"norm.weight", "F32", {1}, {0, 0, 128, 63}}});
  const auto tensors = qf_test::tensors_of(dir / "m");
  BOOST_REQUIRE(tensors.count("mlp.experts"));
  BOOST_CHECK_EQUAL(tensors.at("mlp.experts").type, "mlx_mxfp4");
  BOOST_CHECK(!tensors.count("mlp.experts_blocks") && !tensors.count("mlp.experts_scales"));
  // Each 17-byte block is the group's scale byte followed by its 16 code bytes, unchanged.
  const auto& stored = tensors.at("mlp.experts").bytes;
  BOOST_REQUIRE_EQUAL(stored.size(), 6u * 17u);
  for (size_t g = 0; g < 6; ++g) {
    BOOST_CHECK_EQUAL(stored[g * 17], scales[g]);
    BOOST_CHECK(std::equal(blocks.begin() + g * 16, blocks.begin() + g * 16 + 16, stored.begin() + g * 17 + 1));
  }

  auto r = cli("convert -q --type f32 " + quote(dir / "m") + " " + quote(dir / "f32.safetensors"));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto f32 = qf_test::tensors_of(dir / "f32.safetensors").at("mlp.experts").bytes;
  BOOST_REQUIRE_EQUAL(f32.size(), 2u * 96u * 4u);
  for (size_t e = 0; e < 192; ++e) {
    const size_t group = e / 32, within = e % 32;
    const uint8_t byte = blocks[group * 16 + within / 2];
    const float expected = std::ldexp(kE2M1[within % 2 ? byte >> 4 : byte & 15], scales[group] - 127);
    float got;
    std::memcpy(&got, f32.data() + e * 4, 4);
    BOOST_CHECK_EQUAL(got, expected);
  }
}

BOOST_AUTO_TEST_CASE(missing_or_misshapen_parts_are_refused) {
  qf_test::TempDir dir;
  const std::vector<uint8_t> blocks(32), scales(2);
  auto error_of = [&](const std::string& name, const std::vector<Part>& parts) {
    write_folder(dir / name, parts);
    auto r = cli("inspect " + quote(dir / name));
    BOOST_CHECK_EQUAL(r.exit_code, 2);
    return r.err;
  };
  const auto folder = [&](const char* name) { return (dir / name).string(); };
  BOOST_CHECK_EQUAL(error_of("no-scales", {{"w_blocks", "U8", {2, 16}, blocks}}),
                    "quantflow: error: " + folder("no-scales") +
                        ": tensor 'w_blocks': MXFP4 codes without scales: 'w_scales' is missing\n");
  BOOST_CHECK_EQUAL(error_of("no-blocks", {{"w_scales", "U8", {2}, scales}}),
                    "quantflow: error: " + folder("no-blocks") +
                        ": tensor 'w_scales': MXFP4 scales without their codes: 'w_blocks' is missing\n");
  BOOST_CHECK_EQUAL(error_of("bad-scales", {{"w_blocks", "U8", {2, 16}, blocks}, {"w_scales", "U8", {1}, {0}}}),
                    "quantflow: error: " + folder("bad-scales") +
                        ": tensor 'w_scales': MXFP4 scales must be U8 [2] to match 'w_blocks', not u8 [1]\n");
}
