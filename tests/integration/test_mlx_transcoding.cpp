// Quantized to quantized through MLX folders with the bundled transcoders: ggml Q4_1 and MXFP4
// go to MLX's layouts and back without a float detour (every tensor direct, the GGUF comes back
// byte for byte, verify --against finds the values equal), and MLX 8-bit groups that Q8_0 cannot
// hold exactly go through f32, as the summary says.
#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;

namespace {

qf_test::CommandResult run_ok(const std::string& args) {
  auto r = cli(args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, args << "\n" << r.err << r.out);
  return r;
}

bool has_line(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

struct Model {
  qf_test::TempDir dir;
  fs::path source = qf_test::synth_model(dir / "m.safetensors", "--layers 2 --hidden 256 --ffn 512 --vocab 256");
};

// GGUF of `ggml_type` -> MLX folder of `mlx_type` -> GGUF of `ggml_type`: identical bytes.
void check_round_trip(const std::string& ggml_type, const std::string& mlx_type) {
  Model m;
  const fs::path original = m.dir / "original.gguf", folder = m.dir / "mlx", back = m.dir / "back.gguf";
  run_ok("convert -q --type " + ggml_type + " " + quote(m.source) + " " + quote(original));
  auto to_mlx = run_ok("convert --type " + mlx_type + " " + quote(original) + " " + quote(folder.string() + "/"));
  BOOST_CHECK_MESSAGE(has_line(to_mlx.out,
                               "16 tensors transcoded directly (lossless), 0 through f32 (not exactly "
                               "representable)"),
                      to_mlx.out);
  auto from_mlx = run_ok("convert --type " + ggml_type + " " + quote(folder) + " " + quote(back));
  BOOST_CHECK_MESSAGE(has_line(from_mlx.out,
                               "16 tensors transcoded directly (lossless), 0 through f32 (not exactly "
                               "representable)"),
                      from_mlx.out);
  BOOST_CHECK_MESSAGE(qf_test::read_bytes(back) == qf_test::read_bytes(original), back << " differs from " << original);
  auto verified = run_ok("verify " + quote(folder) + " --against " + quote(original));
  BOOST_CHECK_MESSAGE(verified.out.find("0 failed") != std::string::npos, verified.out);
}

}  // namespace

BOOST_AUTO_TEST_CASE(q4_1_through_mlx_affine_comes_back_byte_for_byte) { check_round_trip("q4_1", "mlx_q4_g32_f16"); }

BOOST_AUTO_TEST_CASE(mxfp4_through_mlx_mxfp4_comes_back_byte_for_byte) { check_round_trip("mxfp4", "mlx_mxfp4"); }

BOOST_AUTO_TEST_CASE(mlx_8_bit_groups_q8_0_cannot_hold_go_through_f32) {
  Model m;
  run_ok("convert -q --type mlx_q8_g32_f16 " + quote(m.source) + " " + quote((m.dir / "mlx").string() + "/"));
  auto r = run_ok("convert --type q8_0 " + quote(m.dir / "mlx") + " " + quote(m.dir / "q8.gguf"));
  // An MLX group's bias is its edge value, not a whole number of scales, so none is exact.
  BOOST_CHECK_MESSAGE(has_line(r.out,
                               "0 tensors transcoded directly (lossless), 16 through f32 (not exactly "
                               "representable)"),
                      r.out);
  auto direct_off = run_ok("convert --no-direct --type q8_0 " + quote(m.dir / "mlx") + " " + quote(m.dir / "q8b.gguf"));
  BOOST_CHECK(qf_test::read_bytes(m.dir / "q8.gguf") == qf_test::read_bytes(m.dir / "q8b.gguf"));
}
