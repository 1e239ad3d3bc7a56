// The mlx_fp_ggml transcoders: MLX mxfp4/nvfp4 groups <-> ggml MXFP4/NVFP4 blocks. Exact bytes
// for hand-built blocks; on random blocks, the target's decoded values equal the source's bit
// for bit (MLX's values from mlx-quant.md §3, or from the mlx_fp codec once it is loaded, and
// ggml's from the bundled mxfp4/nvfp4 codecs); the bytes without an exact image are INEXACT.
#include <cmath>

#include "support/transcoder_blocks.hpp"

using namespace qf_test;

namespace {

// E2M1 by code, bit 3 the sign (code 8 is -0).
constexpr float kE2m1[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                             -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

// E4M3FN as MLX reads it: the NaN codes read as +-480.
float mlx_fp8(uint8_t c) {
  const float sign = (c & 0x80) ? -1.0f : 1.0f;
  const int exp = (c >> 3) & 15, man = c & 7;
  if (exp == 0) return sign * std::ldexp(static_cast<float>(man), -9);
  return sign * std::ldexp(1.0f + static_cast<float>(man) / 8.0f, exp - 7);
}

// MLX's values: scale first (2^(s-127), or the E4M3 value), then times the code's value.
std::vector<float> mlx_values(const std::vector<uint8_t>& bytes, int group, bool e8m0) {
  const int block = 1 + group / 2;
  std::vector<float> out;
  for (size_t g = 0; g < bytes.size() / block; ++g) {
    const uint8_t* p = bytes.data() + g * block;
    const float scale = e8m0 ? std::ldexp(1.0f, p[0] - 127) : mlx_fp8(p[0]);
    for (int k = 0; k < group; ++k) out.push_back(scale * kE2m1[stream_nibble(p + 1, k)]);
  }
  return out;
}

std::vector<float> mlx_decoded(const char* codec, const std::vector<uint8_t>& bytes, int64_t rows, int64_t n, int group,
                               bool e8m0) {
  if (auto real = decoded_by(codec, bytes, rows, n)) {
    check_same_values(*real, mlx_values(bytes, group, e8m0), Zeros::same_sign, std::string(codec) + " decoder");
    return *real;
  }
  return mlx_values(bytes, group, e8m0);
}

constexpr int64_t kRows = 3, kCols = 256;

}  // namespace

BOOST_AUTO_TEST_CASE(an_mlx_mxfp4_group_is_the_ggml_block_with_its_codes_in_halves) {
  // Element k has code k % 16: MLX byte b holds elements 2b and 2b + 1.
  std::vector<uint8_t> mlx{0x82};
  for (int b = 0; b < 16; ++b) mlx.push_back(static_cast<uint8_t>((2 * b % 16) | ((2 * b + 1) % 16) << 4));
  std::vector<uint8_t> ggml;
  BOOST_REQUIRE_EQUAL(run_transcoder(bundled_transcoder("mlx_mxfp4", "mxfp4"), mlx, ggml, 17, 1, 32), QF_CODEC_OK);
  // ggml byte j holds elements j and j + 16, which both have code j.
  const std::vector<uint8_t> want{0x82, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                  0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
  BOOST_TEST(ggml == want, boost::test_tools::per_element());
  std::vector<uint8_t> back;
  BOOST_REQUIRE_EQUAL(run_transcoder(bundled_transcoder("mxfp4", "mlx_mxfp4"), ggml, back, 17, 1, 32), QF_CODEC_OK);
  // Code 8 (-0) comes back as code 0: ggml reads both as +0.
  std::vector<uint8_t> normalized = mlx;
  normalized[1 + 4] = 0x90;   // elements 8 and 9
  normalized[1 + 12] = 0x90;  // elements 24 and 25
  BOOST_TEST(back == normalized, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(mxfp4_values_survive_both_directions_bit_for_bit) {
  std::mt19937 rng(11);
  const int64_t blocks = kRows * kCols / 32;
  auto mlx = random_bytes(rng, static_cast<size_t>(blocks * 17));
  for (int64_t g = 0; g < blocks; ++g) mlx[static_cast<size_t>(g * 17)] = static_cast<uint8_t>(rng() % 255);
  std::vector<uint8_t> ggml;
  BOOST_REQUIRE_EQUAL(run_transcoder(bundled_transcoder("mlx_mxfp4", "mxfp4"), mlx, ggml, mlx.size(), kRows, kCols),
                      QF_CODEC_OK);
  // ggml has no -0: MLX's code 8 reads as +0 there.
  check_same_values(required_decode("mxfp4", ggml, kRows, kCols), mlx_decoded("mlx_mxfp4", mlx, kRows, kCols, 32, true),
                    Zeros::any_sign, "mlx_mxfp4 -> mxfp4");

  auto from_ggml = random_bytes(rng, static_cast<size_t>(blocks * 17));
  for (int64_t g = 0; g < blocks; ++g) from_ggml[static_cast<size_t>(g * 17)] = static_cast<uint8_t>(rng() % 255);
  std::vector<uint8_t> to_mlx;
  BOOST_REQUIRE_EQUAL(
      run_transcoder(bundled_transcoder("mxfp4", "mlx_mxfp4"), from_ggml, to_mlx, from_ggml.size(), kRows, kCols),
      QF_CODEC_OK);
  check_same_values(mlx_decoded("mlx_mxfp4", to_mlx, kRows, kCols, 32, true),
                    required_decode("mxfp4", from_ggml, kRows, kCols), Zeros::same_sign, "mxfp4 -> mlx_mxfp4");
}

BOOST_AUTO_TEST_CASE(mxfp4_scale_255_has_no_exact_image_either_way) {
  // MLX computes 2^128 first (infinity), ggml halves the scale and doubles the code: the
  // values differ, so the byte no encoder writes is reported rather than carried over.
  std::vector<uint8_t> block(17, 0x21), out;
  block[0] = 255;
  BOOST_CHECK_EQUAL(run_transcoder(bundled_transcoder("mlx_mxfp4", "mxfp4"), block, out, 17, 1, 32), QF_CODEC_INEXACT);
  BOOST_CHECK_EQUAL(run_transcoder(bundled_transcoder("mxfp4", "mlx_mxfp4"), block, out, 17, 1, 32), QF_CODEC_INEXACT);
  block[0] = 254;
  BOOST_CHECK_EQUAL(run_transcoder(bundled_transcoder("mlx_mxfp4", "mxfp4"), block, out, 17, 1, 32), QF_CODEC_OK);
  BOOST_CHECK_EQUAL(run_transcoder(bundled_transcoder("mlx_mxfp4", "mxfp4"), block, out, 17, 1, 48),
                    QF_CODEC_BAD_ROW_LENGTH);
}

BOOST_AUTO_TEST_CASE(four_mlx_nvfp4_groups_are_one_ggml_block) {
  // Group g has scale 0x38 + g and element k code (k + g) % 16.
  std::vector<uint8_t> mlx;
  for (int g = 0; g < 4; ++g) {
    mlx.push_back(static_cast<uint8_t>(0x38 + g));
    for (int b = 0; b < 8; ++b) mlx.push_back(static_cast<uint8_t>(((2 * b + g) % 16) | (((2 * b + 1 + g) % 16) << 4)));
  }
  std::vector<uint8_t> ggml;
  BOOST_REQUIRE_EQUAL(run_transcoder(bundled_transcoder("mlx_nvfp4", "nvfp4"), mlx, ggml, 36, 1, 64), QF_CODEC_OK);
  std::vector<uint8_t> want{0x38, 0x39, 0x3A, 0x3B};
  for (int g = 0; g < 4; ++g)
    for (int j = 0; j < 8; ++j) want.push_back(static_cast<uint8_t>(((j + g) % 16) | (((j + 8 + g) % 16) << 4)));
  BOOST_TEST(ggml == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(nvfp4_values_survive_both_directions_bit_for_bit) {
  std::mt19937 rng(12);
  const int64_t groups = kRows * kCols / 16;
  auto mlx = random_bytes(rng, static_cast<size_t>(groups * 9));
  for (int64_t g = 0; g < groups; ++g) mlx[static_cast<size_t>(g * 9)] = static_cast<uint8_t>(rng() % 0x7F);
  std::vector<uint8_t> ggml;
  BOOST_REQUIRE_EQUAL(
      run_transcoder(bundled_transcoder("mlx_nvfp4", "nvfp4"), mlx, ggml, groups / 4 * 36, kRows, kCols), QF_CODEC_OK);
  check_same_values(required_decode("nvfp4", ggml, kRows, kCols),
                    mlx_decoded("mlx_nvfp4", mlx, kRows, kCols, 16, false), Zeros::any_sign, "mlx_nvfp4 -> nvfp4");

  // Every ggml byte, scales 0x7F (read as 0 by ggml), 0x80 and 0xFF (sign bit ignored) included.
  auto from_ggml = random_bytes(rng, static_cast<size_t>(groups / 4 * 36));
  const uint8_t special[] = {0x7F, 0xFF, 0x80, 0xB8};
  for (size_t i = 0; i < std::size(special); ++i) from_ggml[i] = special[i];
  std::vector<uint8_t> to_mlx;
  BOOST_REQUIRE_EQUAL(
      run_transcoder(bundled_transcoder("nvfp4", "mlx_nvfp4"), from_ggml, to_mlx, groups * 9, kRows, kCols),
      QF_CODEC_OK);
  const std::vector<uint8_t> mapped{to_mlx[0], to_mlx[9], to_mlx[18], to_mlx[27]};
  BOOST_TEST(mapped == (std::vector<uint8_t>{0x00, 0x7F, 0x00, 0x38}), boost::test_tools::per_element());
  check_same_values(mlx_decoded("mlx_nvfp4", to_mlx, kRows, kCols, 16, false),
                    required_decode("nvfp4", from_ggml, kRows, kCols), Zeros::same_sign, "nvfp4 -> mlx_nvfp4");
}

BOOST_AUTO_TEST_CASE(a_negative_or_0x7f_mlx_nvfp4_scale_is_inexact_for_ggml) {
  // ggml ignores the sign bit and reads 0x7F as 0; MLX keeps the sign and reads 0x7F as 480.
  for (const uint8_t scale : {uint8_t{0x88}, uint8_t{0x80}, uint8_t{0x7F}, uint8_t{0xFF}}) {
    std::vector<uint8_t> mlx(36, 0x12), ggml;
    mlx[18] = scale;  // the third group's scale
    BOOST_CHECK_EQUAL(run_transcoder(bundled_transcoder("mlx_nvfp4", "nvfp4"), mlx, ggml, 36, 1, 64), QF_CODEC_INEXACT);
  }
  std::vector<uint8_t> mlx(36, 0x12), ggml;
  BOOST_CHECK_EQUAL(run_transcoder(bundled_transcoder("mlx_nvfp4", "nvfp4"), mlx, ggml, 36, 1, 32),
                    QF_CODEC_BAD_ROW_LENGTH);
}

BOOST_AUTO_TEST_CASE(only_the_always_exact_directions_say_so) {
  BOOST_CHECK(!quantflow::always_exact(bundled_transcoder("mlx_mxfp4", "mxfp4")));
  BOOST_CHECK(!quantflow::always_exact(bundled_transcoder("mxfp4", "mlx_mxfp4")));
  BOOST_CHECK(!quantflow::always_exact(bundled_transcoder("mlx_nvfp4", "nvfp4")));
  BOOST_CHECK(quantflow::always_exact(bundled_transcoder("nvfp4", "mlx_nvfp4")));
}
