// The zero_point_ggml transcoders: 4-bit zero-point groups (value = (q - zero) * scale) as
// ggml Q4_1 blocks and MLX 4-bit f16 groups with bias = -zero * scale. Exact bytes for a
// hand-built group; on random groups, the decoded values (the bundled q4_1 codec; MLX's
// scale * q + bias, or the mlx_affine codec once loaded) equal the zero-point values (the
// spec's formula, or the zero_point codec once loaded); a bias fp16 cannot hold is INEXACT.
#include <cmath>

#include "support/transcoder_blocks.hpp"

using namespace qf_test;

namespace {

float half_value(uint16_t h) {
  const float sign = (h & 0x8000) ? -1.0f : 1.0f;
  const int exp = (h >> 10) & 31, man = h & 0x3FF;
  if (exp == 0) return sign * std::ldexp(static_cast<float>(man), -24);
  if (exp == 31) return man ? NAN : sign * INFINITY;
  return sign * std::ldexp(1.0f + static_cast<float>(man) / 1024.0f, exp - 15);
}

// Groups of {fp16 scale; u16 zero or fp16 bias; 4-bit stream}: the zero-point values
// (q - zero) * scale, or the affine values scale * q + bias.
std::vector<float> group_values(const std::vector<uint8_t>& bytes, int group, bool zero_point) {
  const size_t block = 4 + static_cast<size_t>(group / 2);
  std::vector<float> out;
  for (size_t g = 0; g < bytes.size() / block; ++g) {
    const uint8_t* p = bytes.data() + g * block;
    const float scale = half_value(get_u16(p));
    for (int k = 0; k < group; ++k) {
      const int q = stream_nibble(p + 4, k);
      out.push_back(zero_point ? static_cast<float>(q - get_u16(p + 2)) * scale
                               : scale * static_cast<float>(q) + half_value(get_u16(p + 2)));
    }
  }
  return out;
}

// A codec's values when it is loaded (checked against the formula), else the formula's.
std::vector<float> values_of(const std::string& codec, const std::vector<uint8_t>& bytes, int64_t rows, int64_t n,
                             int group, bool zero_point) {
  if (auto real = decoded_by(codec.c_str(), bytes, rows, n)) {
    check_same_values(*real, group_values(bytes, group, zero_point), Zeros::same_sign, codec + " decoder");
    return *real;
  }
  return group_values(bytes, group, zero_point);
}

std::vector<uint8_t> group_bytes(uint16_t scale, uint16_t zero, const std::vector<uint8_t>& codes) {
  std::vector<uint8_t> out;
  put_u16(out, scale);
  put_u16(out, zero);
  for (const uint8_t c : codes) out.push_back(c);  // (insert trips GCC 12's -Wstringop-overread)
  return out;
}

constexpr int64_t kRows = 3, kCols = 256;

}  // namespace

BOOST_AUTO_TEST_CASE(a_zero_point_group_becomes_q4_1_and_mlx_with_bias_minus_zero_times_scale) {
  // scale 0.25, zero 8: bias -2.0 (fp16 0xC000); element k has code k % 16.
  std::vector<uint8_t> codes;
  for (int b = 0; b < 16; ++b) codes.push_back(static_cast<uint8_t>((2 * b % 16) | ((2 * b + 1) % 16) << 4));
  const auto zp = group_bytes(0x3400, 8, codes);
  std::vector<uint8_t> q4_1, mlx;
  BOOST_REQUIRE_EQUAL(run_transcoder(bundled_transcoder("zp_q4_g32", "q4_1"), zp, q4_1, 20, 1, 32), QF_CODEC_OK);
  const std::vector<uint8_t> want{0x00, 0x34, 0x00, 0xC0, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
                                  0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
  BOOST_TEST(q4_1 == want, boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(run_transcoder(bundled_transcoder("zp_q4_g32", "mlx_q4_g32_f16"), zp, mlx, 20, 1, 32),
                      QF_CODEC_OK);
  BOOST_TEST(mlx == group_bytes(0x3400, 0xC000, codes), boost::test_tools::per_element());  // same stream
}

BOOST_AUTO_TEST_CASE(zero_point_groups_keep_their_values_in_q4_1_and_mlx) {
  std::mt19937 rng(31);
  for (const int group : {32, 64, 128}) {
    std::vector<uint8_t> zp;
    for (int64_t g = 0; g < kRows * kCols / group; ++g) {
      // A scale with 6 fraction bits and a zero up to 15: -zero * scale has at most 11 bits.
      const auto scale = static_cast<uint16_t>(((10 + rng() % 10) << 10) | ((rng() % 64) << 4));
      const auto z = group_bytes(scale, static_cast<uint16_t>(rng() % 16), random_bytes(rng, group / 2));
      for (const uint8_t b : z) zp.push_back(b);
    }
    const std::string from = "zp_q4_g" + std::to_string(group), mlx_name = "mlx_q4_g" + std::to_string(group) + "_f16";
    const auto want = values_of(from, zp, kRows, kCols, group, true);
    std::vector<uint8_t> q4_1, mlx;
    BOOST_REQUIRE_EQUAL(
        run_transcoder(bundled_transcoder(from.c_str(), "q4_1"), zp, q4_1, kRows * kCols / 32 * 20, kRows, kCols),
        QF_CODEC_OK);
    check_same_values(required_decode("q4_1", q4_1, kRows, kCols), want, Zeros::any_sign, from + " -> q4_1");
    BOOST_REQUIRE_EQUAL(
        run_transcoder(bundled_transcoder(from.c_str(), mlx_name.c_str()), zp, mlx, zp.size(), kRows, kCols),
        QF_CODEC_OK);
    check_same_values(values_of(mlx_name, mlx, kRows, kCols, group, false), want, Zeros::any_sign,
                      from + " -> " + mlx_name);
  }
}

BOOST_AUTO_TEST_CASE(a_bias_fp16_cannot_hold_is_inexact) {
  struct Case {
    const char* why;
    uint16_t scale, zero;
  };
  const Case cases[] = {
      {"-3 * (1 + 2^-10) needs 12 bits", 0x3C01, 3},
      {"-65535 overflows fp16", 0x3C00, 65535},
      {"a NaN scale", 0x7E00, 1},
  };
  const std::vector<uint8_t> codes(16, 0x31);
  for (const Case& c : cases) {
    const auto zp = group_bytes(c.scale, c.zero, codes);
    std::vector<uint8_t> out;
    BOOST_CHECK_MESSAGE(run_transcoder(bundled_transcoder("zp_q4_g32", "q4_1"), zp, out, 20, 1, 32) == QF_CODEC_INEXACT,
                        c.why);
    BOOST_CHECK_MESSAGE(
        run_transcoder(bundled_transcoder("zp_q4_g32", "mlx_q4_g32_f16"), zp, out, 20, 1, 32) == QF_CODEC_INEXACT,
        c.why);
  }
  // GPTQ v1's wrapped zero 16 is fine: -16 * 0.25 = -4.
  std::vector<uint8_t> out;
  BOOST_CHECK_EQUAL(
      run_transcoder(bundled_transcoder("zp_q4_g32", "q4_1"), group_bytes(0x3400, 16, codes), out, 20, 1, 32),
      QF_CODEC_OK);
  BOOST_CHECK_EQUAL(get_u16(out.data() + 2), 0xC400);
  BOOST_CHECK_EQUAL(
      run_transcoder(bundled_transcoder("zp_q4_g64", "q4_1"), group_bytes(0x3400, 16, codes), out, 20, 1, 32),
      QF_CODEC_BAD_ROW_LENGTH);
}
