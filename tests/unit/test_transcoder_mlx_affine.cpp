// The mlx_affine_ggml transcoders: MLX 4-bit affine groups <-> ggml Q4_1 and MLX 8-bit groups
// -> Q8_0. Exact bytes for hand-built groups; on random groups, the target's decoded values
// (the bundled q4_1/q8_0 codecs) equal MLX's scale * q + bias (mlx-quant.md §2.3, float32; or
// the mlx_affine codec once it is loaded) bit for bit; groups without an exact image are INEXACT.
#include <cmath>

#include "support/transcoder_blocks.hpp"

using namespace qf_test;

namespace {

enum class Scale { f16, bf16 };

float half_value(uint16_t h) {
  const float sign = (h & 0x8000) ? -1.0f : 1.0f;
  const int exp = (h >> 10) & 31, man = h & 0x3FF;
  if (exp == 0) return sign * std::ldexp(static_cast<float>(man), -24);
  return sign * std::ldexp(1.0f + static_cast<float>(man) / 1024.0f, exp - 15);
}

float field_value(const uint8_t* p, Scale s) {
  const uint16_t bits = get_u16(p);
  return s == Scale::f16 ? half_value(bits) : std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

// MLX's values of groups of `group` `bits`-bit codes: scale * q + bias in float32.
std::vector<float> mlx_values(const std::vector<uint8_t>& bytes, int group, int bits, Scale s) {
  const size_t block = 4 + static_cast<size_t>(group * bits / 8);
  std::vector<float> out;
  for (size_t g = 0; g < bytes.size() / block; ++g) {
    const uint8_t* p = bytes.data() + g * block;
    const float scale = field_value(p, s), bias = field_value(p + 2, s);
    for (int k = 0; k < group; ++k) {
      const int q = bits == 4 ? stream_nibble(p + 4, k) : p[4 + k];
      out.push_back(scale * static_cast<float>(q) + bias);
    }
  }
  return out;
}

std::string mlx_name(int bits, int group, Scale s) {
  return "mlx_q" + std::to_string(bits) + "_g" + std::to_string(group) + (s == Scale::f16 ? "_f16" : "_bf16");
}

// The MLX codec's values when it is loaded (checked against the formula), else the formula's.
std::vector<float> mlx_decoded(const std::vector<uint8_t>& bytes, int64_t rows, int64_t n, int group, int bits,
                               Scale s) {
  const std::string name = mlx_name(bits, group, s);
  if (auto real = decoded_by(name.c_str(), bytes, rows, n)) {
    check_same_values(*real, mlx_values(bytes, group, bits, s), Zeros::same_sign, name + " decoder");
    return *real;
  }
  return mlx_values(bytes, group, bits, s);
}

// A finite f16 (any exponent, subnormals included) or a bf16 that fp16 holds exactly.
uint16_t random_field(std::mt19937& rng, Scale s) {
  if (s == Scale::f16) {
    uint16_t h;
    do h = static_cast<uint16_t>(rng());
    while (((h >> 10) & 31) == 31);
    return h;
  }
  const uint32_t exp = 113 + rng() % 30;  // 2^-14 .. 2^15: fp16 normals
  return static_cast<uint16_t>(((rng() & 1) << 15) | (exp << 7) | (rng() & 0x7F));
}

// The fp16 and bf16 bits of a value both hold exactly (a normal fp16 or zero).
uint16_t exact_half(float v) {
  const uint32_t f = std::bit_cast<uint32_t>(v);
  const auto sign = static_cast<uint16_t>((f >> 16) & 0x8000);
  if ((f & 0x7FFFFFFF) == 0) return sign;
  return static_cast<uint16_t>(sign | ((((f >> 23) & 0xFF) - 112) << 10) | ((f >> 13) & 0x3FF));
}
uint16_t bf16_of(float v) { return static_cast<uint16_t>(std::bit_cast<uint32_t>(v) >> 16); }

constexpr int64_t kRows = 3, kCols = 256;

}  // namespace

BOOST_AUTO_TEST_CASE(an_mlx_q4_group_of_64_is_two_q4_1_blocks_with_its_scale_and_bias) {
  // scale 1.0, bias -4.0; element k has code k % 16 in the first 32, 15 - k % 16 in the rest.
  std::vector<uint8_t> mlx;
  put_u16(mlx, 0x3C00);
  put_u16(mlx, 0xC400);
  for (int b = 0; b < 32; ++b) {
    auto code = [](int k) { return k < 32 ? k % 16 : 15 - k % 16; };
    mlx.push_back(static_cast<uint8_t>(code(2 * b) | code(2 * b + 1) << 4));
  }
  std::vector<uint8_t> q4_1;
  BOOST_REQUIRE_EQUAL(run_transcoder(bundled_transcoder("mlx_q4_g64_f16", "q4_1"), mlx, q4_1, 40, 1, 64), QF_CODEC_OK);
  const std::vector<uint8_t> want{0x00, 0x3C, 0x00, 0xC4, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
                                  0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x00, 0x3C, 0x00, 0xC4, 0xFF, 0xEE, 0xDD, 0xCC,
                                  0xBB, 0xAA, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00};
  BOOST_TEST(q4_1 == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(mlx_q4_groups_decode_as_q4_1_to_the_same_bits) {
  std::mt19937 rng(21);
  for (const Scale s : {Scale::f16, Scale::bf16})
    for (const int group : {32, 64, 128}) {
      std::vector<uint8_t> mlx;
      for (int64_t g = 0; g < kRows * kCols / group; ++g) {
        put_u16(mlx, random_field(rng, s));
        put_u16(mlx, random_field(rng, s));
        const auto codes = random_bytes(rng, static_cast<size_t>(group / 2));
        for (const uint8_t c : codes) mlx.push_back(c);
      }
      const std::string name = mlx_name(4, group, s);
      const auto& t = bundled_transcoder(name.c_str(), "q4_1");
      BOOST_CHECK_EQUAL(quantflow::always_exact(t), s == Scale::f16);
      std::vector<uint8_t> q4_1;
      BOOST_REQUIRE_EQUAL(run_transcoder(t, mlx, q4_1, kRows * kCols / 32 * 20, kRows, kCols), QF_CODEC_OK);
      check_same_values(required_decode("q4_1", q4_1, kRows, kCols), mlx_decoded(mlx, kRows, kCols, group, 4, s),
                        Zeros::same_sign, name + " -> q4_1");
    }
}

BOOST_AUTO_TEST_CASE(a_bf16_scale_or_bias_outside_fp16_is_inexact) {
  // 65536 overflows fp16; 2^-25 and 2^-24 * (1 + 2^-7) fall between its subnormals.
  for (const uint16_t field : {uint16_t{0x4780}, uint16_t{0x3300}, uint16_t{0x3381}}) {
    for (const bool as_bias : {false, true}) {
      std::vector<uint8_t> mlx;
      put_u16(mlx, as_bias ? 0x3F80 : field);  // 1.0 in bf16
      put_u16(mlx, as_bias ? field : 0x0000);
      mlx.resize(20, 0x5A);
      std::vector<uint8_t> q4_1;
      BOOST_CHECK_EQUAL(run_transcoder(bundled_transcoder("mlx_q4_g32_bf16", "q4_1"), mlx, q4_1, 20, 1, 32),
                        QF_CODEC_INEXACT);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_q4_1_block_is_an_mlx_q4_group_of_32_and_back) {
  std::vector<uint8_t> q4_1;
  put_u16(q4_1, 0x3C00);
  put_u16(q4_1, 0xC400);
  for (int j = 0; j < 16; ++j) q4_1.push_back(static_cast<uint8_t>(j | (15 - j) << 4));
  std::vector<uint8_t> mlx;
  BOOST_REQUIRE_EQUAL(run_transcoder(bundled_transcoder("q4_1", "mlx_q4_g32_f16"), q4_1, mlx, 20, 1, 32), QF_CODEC_OK);
  // Elements 0..15 have codes 0..15, elements 16..31 codes 15..0, two per byte in order.
  const std::vector<uint8_t> want{0x00, 0x3C, 0x00, 0xC4, 0x10, 0x32, 0x54, 0x76, 0x98, 0xBA,
                                  0xDC, 0xFE, 0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01};
  BOOST_TEST(mlx == want, boost::test_tools::per_element());

  std::mt19937 rng(22);
  std::vector<uint8_t> blocks;
  for (int64_t b = 0; b < kRows * kCols / 32; ++b) {
    put_u16(blocks, random_field(rng, Scale::f16));
    put_u16(blocks, random_field(rng, Scale::f16));
    const auto qs = random_bytes(rng, 16);
    for (const uint8_t q : qs) blocks.push_back(q);
  }
  BOOST_REQUIRE_EQUAL(
      run_transcoder(bundled_transcoder("q4_1", "mlx_q4_g32_f16"), blocks, mlx, blocks.size(), kRows, kCols),
      QF_CODEC_OK);
  check_same_values(mlx_decoded(mlx, kRows, kCols, 32, 4, Scale::f16), required_decode("q4_1", blocks, kRows, kCols),
                    Zeros::same_sign, "q4_1 -> mlx_q4_g32_f16");
  std::vector<uint8_t> back;
  BOOST_REQUIRE_EQUAL(
      run_transcoder(bundled_transcoder("mlx_q4_g32_f16", "q4_1"), mlx, back, blocks.size(), kRows, kCols),
      QF_CODEC_OK);
  BOOST_CHECK(back == blocks);
}

BOOST_AUTO_TEST_CASE(an_mlx_q8_group_whose_bias_is_whole_scales_is_q8_0) {
  // scale 0.5, bias -64 = -128 * scale: codes 100..131 become 100 - 128 = -28..3.
  std::vector<uint8_t> mlx;
  put_u16(mlx, 0x3800);
  put_u16(mlx, 0xD400);
  for (int j = 0; j < 32; ++j) mlx.push_back(static_cast<uint8_t>(100 + j));
  std::vector<uint8_t> q8_0;
  BOOST_REQUIRE_EQUAL(run_transcoder(bundled_transcoder("mlx_q8_g32_f16", "q8_0"), mlx, q8_0, 34, 1, 32), QF_CODEC_OK);
  std::vector<uint8_t> want{0x00, 0x38};
  for (int j = 0; j < 32; ++j) want.push_back(static_cast<uint8_t>(static_cast<int8_t>(-28 + j)));
  BOOST_TEST(q8_0 == want, boost::test_tools::per_element());

  // MLX's usual negative scale (the positive edge dominates): scale -0.5, bias 63.5 = 127 * 0.5,
  // so k = 127. Code 255 gives q - k = 128, which int8 lacks: d = +0.5 and c = k - q instead.
  mlx.clear();
  put_u16(mlx, 0xB800);
  put_u16(mlx, 0x53F0);
  for (int j = 0; j < 31; ++j) mlx.push_back(static_cast<uint8_t>(j));
  mlx.push_back(255);
  BOOST_REQUIRE_EQUAL(run_transcoder(bundled_transcoder("mlx_q8_g32_f16", "q8_0"), mlx, q8_0, 34, 1, 32), QF_CODEC_OK);
  BOOST_CHECK_EQUAL(get_u16(q8_0.data()), 0x3800);
  BOOST_CHECK_EQUAL(static_cast<int8_t>(q8_0[2]), 127);    // code 0
  BOOST_CHECK_EQUAL(static_cast<int8_t>(q8_0[33]), -128);  // code 255
  check_same_values(required_decode("q8_0", q8_0, 1, 32), mlx_values(mlx, 32, 8, Scale::f16), Zeros::any_sign,
                    "negative scale");
}

BOOST_AUTO_TEST_CASE(mlx_q8_groups_decode_as_q8_0_to_the_same_values) {
  std::mt19937 rng(23);
  for (const Scale s : {Scale::f16, Scale::bf16})
    for (const int group : {32, 64, 128}) {
      std::vector<uint8_t> mlx;
      for (int64_t g = 0; g < kRows * kCols / group; ++g) {
        // scale = +-m * 2^e with a 3-bit m, so that -k * scale is exact in the scale dtype.
        const float scale = ((rng() & 1) ? -1.0f : 1.0f) *
                            std::ldexp(static_cast<float>(4 + rng() % 4), -static_cast<int>(rng() % 8) - 2);
        // k * m has at most 11 significant bits for fp16, 8 for bf16.
        const int k = static_cast<int>(rng() % (s == Scale::f16 ? 256 : 32));
        const float bias = -static_cast<float>(k) * scale;
        const uint16_t scale_bits = s == Scale::f16 ? exact_half(scale) : bf16_of(scale);
        const uint16_t bias_bits = s == Scale::f16 ? exact_half(bias) : bf16_of(bias);
        put_u16(mlx, scale_bits);
        put_u16(mlx, bias_bits);
        for (int j = 0; j < group; ++j)  // codes within 127 of k fit q - k or k - q
          mlx.push_back(static_cast<uint8_t>(std::clamp(k - 127 + static_cast<int>(rng() % 255), 0, 255)));
      }
      const std::string name = mlx_name(8, group, s);
      std::vector<uint8_t> q8_0;
      BOOST_REQUIRE_EQUAL(
          run_transcoder(bundled_transcoder(name.c_str(), "q8_0"), mlx, q8_0, kRows * kCols / 32 * 34, kRows, kCols),
          QF_CODEC_OK);
      check_same_values(required_decode("q8_0", q8_0, kRows, kCols), mlx_decoded(mlx, kRows, kCols, group, 8, s),
                        Zeros::any_sign, name + " -> q8_0");
    }
}

BOOST_AUTO_TEST_CASE(an_mlx_q8_group_without_an_exact_q8_0_image_is_inexact) {
  struct Case {
    const char* why;
    uint16_t scale, bias;  // f16
    uint8_t low, high;     // the group's smallest and largest code
  };
  const Case cases[] = {
      {"bias 0.3 scales", 0x3C00, 0x34CD, 0, 10},
      {"codes 0 and 200 with k = 0", 0x3C00, 0x0000, 0, 200},
      {"a non-finite scale", 0x7C00, 0x0000, 0, 1},
      {"a zero scale with a bias", 0x0000, 0x3C00, 0, 1},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> mlx;
    put_u16(mlx, c.scale);
    put_u16(mlx, c.bias);
    for (int j = 0; j < 32; ++j) mlx.push_back(j % 2 ? c.high : c.low);
    std::vector<uint8_t> q8_0;
    BOOST_CHECK_MESSAGE(
        run_transcoder(bundled_transcoder("mlx_q8_g32_f16", "q8_0"), mlx, q8_0, 34, 1, 32) == QF_CODEC_INEXACT, c.why);
  }
  // A zero scale and bias: every value is 0, and so is every code.
  std::vector<uint8_t> zeros(4, 0), q8_0;
  for (int j = 0; j < 32; ++j) zeros.push_back(static_cast<uint8_t>(j * 8));
  BOOST_REQUIRE_EQUAL(run_transcoder(bundled_transcoder("mlx_q8_g32_f16", "q8_0"), zeros, q8_0, 34, 1, 32),
                      QF_CODEC_OK);
  BOOST_CHECK(std::all_of(q8_0.begin(), q8_0.end(), [](uint8_t b) { return b == 0; }));
}
