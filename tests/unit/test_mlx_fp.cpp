// MLX's floating modes (mlx_mxfp4, mlx_mxfp8, mlx_nvfp4), byte for byte on groups worked out by
// hand from mlx-quant.md §3: first-index ties of the E2M1 search, the rounded exponent, MLX's
// E4M3FN conversion (round to nearest even, subnormals, saturation at 464, sign, 0x7F = 480),
// all-zero groups, the clamped E8M0 range, then round trips and the error bound.
#include <bit>
#include <cmath>
#include <random>

#include "fp_elements.hpp"
#include "support/whole_tensor_codec.hpp"

using qf_test::check_bytes;
using qf_test::codec_named;
using qf_test::decode_units;
using qf_test::encode_units;

namespace {

namespace mlx = quantflow::mlx_fp;

const quantflow::CodecDescriptor& mxfp4() { return codec_named("mlx_mxfp4"); }
const quantflow::CodecDescriptor& mxfp8() { return codec_named("mlx_mxfp8"); }
const quantflow::CodecDescriptor& nvfp4() { return codec_named("mlx_nvfp4"); }

// The scale byte, then the code bytes padded with zeros to `code_bytes`.
std::vector<uint8_t> block(uint8_t scale, std::vector<uint8_t> codes, size_t code_bytes) {
  codes.resize(code_bytes, 0x00);
  codes.insert(codes.begin(), scale);
  return codes;
}

std::vector<float> group_of(std::vector<float> head, size_t group) {
  head.resize(group, 0.0f);
  return head;
}

std::vector<float> scaled(std::vector<float> v, float s) {
  for (float& x : v) x *= s;
  return v;
}

}  // namespace

BOOST_AUTO_TEST_CASE(descriptors_follow_the_spec) {
  struct Want {
    const char* name;
    uint32_t elems, bytes;
    const char* id;
  };
  for (const Want& w : {Want{"mlx_mxfp4", 32, 17, "mxfp4/4/32/u8"}, Want{"mlx_mxfp8", 32, 33, "mxfp8/8/32/u8"},
                        Want{"mlx_nvfp4", 16, 9, "nvfp4/4/16/u8"}}) {
    const auto& c = codec_named(w.name);
    BOOST_CHECK_EQUAL(c.block_elems, w.elems);
    BOOST_CHECK_EQUAL(c.block_bytes, w.bytes);
    BOOST_CHECK_EQUAL(c.kind, static_cast<uint32_t>(QF_KIND_QUANTIZED));
    BOOST_CHECK_EQUAL(c.flags, 0u);
    BOOST_CHECK_EQUAL(quantflow::container_id(c, "mlx"), w.id);
    BOOST_CHECK_EQUAL(qf_test::plugins().find_by_container_id("mlx", w.id), &c);
  }
}

// amax 6 gives mx exponent 0 (byte 127) and nvfp4 scale 1 (0x38), so the codes are the search
// on w itself: 6 -> 7, 2.5 -> 4 (2.0, first of the tie with 3.0), 0.25 -> 0, -0.25 -> 0 (+0),
// 5 -> 6 (4.0), -5 -> 14 (-4.0), 0.75 -> 1 (0.5), -2.5 -> 12 (-2.0). Element 2b is the low
// nibble of byte b.
BOOST_AUTO_TEST_CASE(fp4_codes_take_the_first_nearest_entry) {
  const std::vector<float> head = {6, 2.5f, 0.25f, -0.25f, 5, -5, 0.75f, -2.5f};
  const std::vector<uint8_t> codes = {0x47, 0x00, 0xE6, 0xC1};
  check_bytes(encode_units(mxfp4(), group_of(head, 32)), block(127, codes, 16));
  check_bytes(encode_units(nvfp4(), group_of(head, 16)), block(0x38, codes, 8));
  BOOST_CHECK(decode_units(nvfp4(), block(0x38, codes, 8), 16) == group_of({6, 2, 0, 0, 4, -4, 0.5f, -2}, 16));
}

// amax 3: s = 0.5, e = rint(-1) = -1 (byte 126), w' = 2w = {6, -3, 1.5, 0.2, -0.4, 2.4, 4.4,
// -5.8} -> codes 7, 13, 3, 0, 9, 4, 6, 15.
BOOST_AUTO_TEST_CASE(an_mxfp4_group_by_hand) {
  const auto w = group_of({3, -1.5f, 0.75f, 0.1f, -0.2f, 1.2f, 2.2f, -2.9f}, 32);
  const auto want = block(126, {0xD7, 0x03, 0x49, 0xF6}, 16);
  check_bytes(encode_units(mxfp4(), w), want);
  BOOST_CHECK(decode_units(mxfp4(), want, 32) == group_of({3, -1.5f, 0.75f, 0, -0.25f, 1, 2, -3}, 32));
}

// MLX rounds log2(amax / 6) to the nearest exponent: 8.4 / 6 = 2^0.485 gives e = 0 and 8.4 is
// clipped to 6; 8.5 / 6 = 2^0.502 gives e = 1 and 8.5 / 2 = 4.25 rounds to 4, decoding as 8.
BOOST_AUTO_TEST_CASE(the_mx_exponent_is_rounded_not_floored) {
  const auto clipped = block(127, {0x07}, 16);
  check_bytes(encode_units(mxfp4(), group_of({8.4f}, 32)), clipped);
  BOOST_CHECK_EQUAL(decode_units(mxfp4(), clipped, 32)[0], 6.0f);
  const auto rounded_up = block(128, {0x06}, 16);
  check_bytes(encode_units(mxfp4(), group_of({8.5f}, 32)), rounded_up);
  BOOST_CHECK_EQUAL(decode_units(mxfp4(), rounded_up, 32)[0], 8.0f);
}

// amax 448 (within [448 / sqrt 2, 448 sqrt 2)): e = 0, so each code is to_fp8(w): 448 -> 0x7E;
// 3 * 2^-9 the subnormal 0x03; 1.0625 a tie between 1 (0x38) and 1.125 -> 0x38; 1.1875 a tie
// -> 1.25 (0x3A); 2.5 * 2^-9 a subnormal tie -> 0x02; 2^-10 a tie with 0 -> 0x00; 464, 500
// saturate (0x7E); -500 keeps its sign (0xFE); 460 rounds to 448; -0 -> 0x80; 2^-6 the
// smallest normal 0x08; -1.0625 -> 0xB8; 0.3 -> 0.3125 (0x2A).
BOOST_AUTO_TEST_CASE(an_mxfp8_group_by_hand) {
  const auto w = group_of({448, 3 * 0x1p-9f, 1.0625f, 1.1875f, 2.5f * 0x1p-9f, 0x1p-10f, 464, 500, -500, 460, -0.0f,
                           0x1p-6f, -1.0625f, 0.3f},
                          32);
  const auto want =
      block(127, {0x7E, 0x03, 0x38, 0x3A, 0x02, 0x00, 0x7E, 0x7E, 0xFE, 0x7E, 0x80, 0x08, 0xB8, 0x2A}, 32);
  check_bytes(encode_units(mxfp8(), w), want);
  const auto y = decode_units(mxfp8(), want, 32);
  BOOST_CHECK(y ==
              group_of({448, 3 * 0x1p-9f, 1, 1.25f, 0x1p-8f, 0, 448, 448, -448, 448, -0.0f, 0x1p-6f, -1, 0.3125f}, 32));
  BOOST_CHECK(std::signbit(y[10]));
}

// amax 1: s = 1/6 = 1.333 * 2^-3 rounds to 1.375 * 2^-3 = 0.171875 (0x23), and the codes
// search w / 0.171875 = {5.82, 2.91, -1.45, 0.58, -5.82, 0.23, 0.26, 1.75, 4.36, -3.49, 1.16,
// -0.5004, 5.24, 0, -0, 2.5018} -> 7, 5, 11, 1, 15, 0, 1, 3, 6, 13, 2, 9, 7, 0, 0, 5.
BOOST_AUTO_TEST_CASE(an_nvfp4_group_by_hand) {
  const std::vector<float> w = {1.0f,  0.5f,  -0.25f, 0.1f,    -1.0f, 0.04f, 0.045f, 0.3f,
                                0.75f, -0.6f, 0.2f,   -0.086f, 0.9f,  0.0f,  -0.0f,  0.43f};
  const auto want = block(0x23, {0x57, 0x1B, 0x0F, 0x31, 0xD6, 0x92, 0x07, 0x50}, 8);
  check_bytes(encode_units(nvfp4(), w), want);
  BOOST_CHECK(decode_units(nvfp4(), want, 16) ==
              scaled({6, 3, -1.5f, 0.5f, -6, 0, 0.5f, 1.5f, 4, -3, 1, -0.5f, 6, 0, 0, 3}, 0.171875f));
}

// An all-zero mx group stores exponent 0 (byte 127); an all-zero nvfp4 group (scale 0, where
// MLX divides 0 by 0) and one whose scale underflows E4M3FN (1e-4 / 6 < 2^-10) store scale 0
// and codes 0. All decode to zeros.
BOOST_AUTO_TEST_CASE(all_zero_groups) {
  const auto mx4 = block(127, {}, 16), mx8 = block(127, {}, 32), nv = block(0, {}, 8);
  check_bytes(encode_units(mxfp4(), std::vector<float>(32, 0.0f)), mx4);
  check_bytes(encode_units(mxfp8(), std::vector<float>(32, 0.0f)), mx8);
  check_bytes(encode_units(nvfp4(), std::vector<float>(16, 0.0f)), nv);
  check_bytes(encode_units(nvfp4(), group_of({1e-4f, -1e-4f}, 16)), nv);
  BOOST_CHECK(decode_units(mxfp4(), mx4, 32) == std::vector<float>(32, 0.0f));
  BOOST_CHECK(decode_units(mxfp8(), mx8, 32) == std::vector<float>(32, 0.0f));
  BOOST_CHECK(decode_units(nvfp4(), nv, 16) == std::vector<float>(16, 0.0f));
}

// MLX casts e + 127 to a byte unchecked (e = -129 would wrap to 254); the exponent is clamped
// to E8M0's range instead and the codes divide by the same 2^-127: amax 2^-126 gives e = -129
// -> -127 (byte 0), w' = 2 (code 4), decoding to 2^-126 exactly. nvfp4's scale saturates at
// 448 (0x7E): 65504 / 448 = 146 is clipped to 6 and -100 / 448 rounds to 0. It rounds half to
// even (ggml's UE4M3 rounds half up): amax 6.375 gives s = 1.0625, between 1 and 1.125 -> 0x38.
BOOST_AUTO_TEST_CASE(scales_stay_in_their_formats_range) {
  const auto tiny = block(0, {0x04}, 16);
  check_bytes(encode_units(mxfp4(), group_of({0x1p-126f}, 32)), tiny);
  BOOST_CHECK_EQUAL(decode_units(mxfp4(), tiny, 32)[0], 0x1p-126f);
  const auto huge = block(0x7E, {0x07}, 8);
  check_bytes(encode_units(nvfp4(), group_of({65504, -100}, 16)), huge);
  BOOST_CHECK_EQUAL(decode_units(nvfp4(), huge, 16)[0], 2688.0f);
  check_bytes(encode_units(nvfp4(), group_of({6.375f}, 16)), block(0x38, {0x07}, 8));
}

// MLX reads E4M3FN's NaN codes as numbers: 0x7F is 480, 0xFF -480, in codes and in nvfp4's
// scale. E8M0 byte 0 is 2^-127, 254 is 2^127.
BOOST_AUTO_TEST_CASE(decoding_reads_0x7f_as_480) {
  const auto y = decode_units(mxfp8(), block(127, {0x7F, 0xFF, 0x7E, 0x01}, 32), 32);
  BOOST_CHECK(y == group_of({480, -480, 448, 0x1p-9f}, 32));
  BOOST_CHECK_EQUAL(decode_units(nvfp4(), block(0x7F, {0xA2}, 8), 16)[1], -480.0f);  // codes 2 (1.0), 10 (-1.0)
  BOOST_CHECK_EQUAL(decode_units(mxfp4(), block(0, {0x07}, 16), 32)[0], 6 * 0x1p-127f);
  BOOST_CHECK_EQUAL(decode_units(mxfp4(), block(254, {0x02}, 16), 32)[0], 0x1p127f);
}

// The conversions on their own, including the cases no encoder input reaches (NaN, infinity).
BOOST_AUTO_TEST_CASE(mlx_fp8_conversions) {
  BOOST_CHECK_EQUAL(mlx::to_fp8(NAN), 0x7E);
  BOOST_CHECK_EQUAL(mlx::to_fp8(-NAN), 0xFE);
  BOOST_CHECK_EQUAL(mlx::to_fp8(INFINITY), 0x7E);
  BOOST_CHECK_EQUAL(mlx::to_fp8(-INFINITY), 0xFE);
  BOOST_CHECK_EQUAL(mlx::to_fp8(1e30f), 0x7E);
  BOOST_CHECK_EQUAL(mlx::to_fp8(464.0f), 0x7E);
  BOOST_CHECK_EQUAL(mlx::to_fp8(-464.0f), 0xFE);
  BOOST_CHECK_EQUAL(mlx::to_fp8(463.99f), 0x7E);
  BOOST_CHECK_EQUAL(mlx::to_fp8(400.0f), 0x7C);           // 1.5625 * 2^8: a tie between 0x7C and 0x7D
  BOOST_CHECK_EQUAL(mlx::to_fp8(432.0f), 0x7E);           // 1.6875 * 2^8: a tie between 0x7D and 0x7E
  BOOST_CHECK_EQUAL(mlx::to_fp8(1.5f * 0x1p-10f), 0x01);  // 0.75 of the smallest subnormal
  BOOST_CHECK_EQUAL(mlx::to_fp8(3.5f * 0x1p-9f), 0x04);   // subnormal tie to even
  BOOST_CHECK_EQUAL(mlx::to_fp8(7.5f * 0x1p-9f), 0x08);   // rounds up into the smallest normal
  BOOST_CHECK_EQUAL(mlx::to_fp8(-0x1p-11f), 0x80);
  BOOST_CHECK_EQUAL(mlx::from_fp8(0x7F), 480.0f);
  BOOST_CHECK_EQUAL(mlx::from_fp8(0xFF), -480.0f);
  BOOST_CHECK_EQUAL(mlx::from_fp8(0x7E), 448.0f);
  BOOST_CHECK_EQUAL(mlx::from_fp8(0x01), 0x1p-9f);
  BOOST_CHECK(std::signbit(mlx::from_fp8(0x80)));
  for (int code = 0; code < 256; ++code)
    if ((code & 0x7F) != 0x7F) BOOST_CHECK_EQUAL(mlx::to_fp8(mlx::from_fp8(static_cast<uint8_t>(code))), code);
}

namespace {

std::vector<float> random_rows(int64_t n_rows, int64_t n_per_row, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x;
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t i = 0; i < n_per_row; ++i) x.push_back(std::ldexp(normal(rng), static_cast<int>(r % 9) - 4));
  return x;
}

// Half the gap around |v| on the E2M1 grid (0.5 apart up to 2, 1 up to 4, 2 up to 6), plus
// what lies beyond 6.
double e2m1_bound(double v) {
  const double a = std::fabs(v);
  return a > 6 ? a - 6 : a < 2 ? 0.25 : a < 4 ? 0.5 : 1.0;
}

// Half an E4M3FN ULP at |v| (subnormals share the smallest normal binade's 2^-9), plus what
// lies beyond 448.
double e4m3_bound(double v) {
  const double a = std::fabs(v);
  if (a > 448) return a - 448;
  return std::ldexp(1.0, std::max(static_cast<int>(std::floor(std::log2(std::max(a, 0x1p-6)))), -6) - 4);
}

}  // namespace

// Values on each format's grid decode to themselves; random values err by at most the element
// format's rounding at w / scale, times the stored scale.
BOOST_AUTO_TEST_CASE(round_trips_and_error_bounds) {
  const std::vector<float> e2m1 = {6, -6, 4, -3, 2, -1.5f, 1, -0.5f, 0, 3, -4, 1.5f, 0.5f, -2, -1, 6};
  const auto mx4_grid = scaled(group_of(e2m1, 32), 0x1p-5f);  // amax 6 * 2^-5: e = -5
  BOOST_CHECK(decode_units(mxfp4(), encode_units(mxfp4(), mx4_grid), 32) == mx4_grid);
  const auto nv_grid = scaled(e2m1, 0.171875f);  // amax / 6 = 0.171875, exact in E4M3FN
  BOOST_CHECK(decode_units(nvfp4(), encode_units(nvfp4(), nv_grid), 16) == nv_grid);
  std::vector<float> fp8_grid = {448};
  for (int code = 1; code < 32; ++code) fp8_grid.push_back(mlx::from_fp8(static_cast<uint8_t>(code * 7 % 0xFE)));
  const auto mx8_grid = scaled(fp8_grid, 8.0f);
  BOOST_CHECK(decode_units(mxfp8(), encode_units(mxfp8(), mx8_grid), 32) == mx8_grid);

  struct Case {
    const quantflow::CodecDescriptor& codec;
    double (*element_bound)(double);
    float (*scale)(uint8_t);
  };
  const auto e8m0 = [](uint8_t b) { return std::ldexp(1.0f, b - 127); };
  for (const Case& c :
       {Case{mxfp4(), e2m1_bound, e8m0}, Case{mxfp8(), e4m3_bound, e8m0}, Case{nvfp4(), e2m1_bound, mlx::from_fp8}}) {
    BOOST_TEST_CONTEXT(c.codec.name) {
      const auto x = random_rows(9, 256, 3);
      const auto bytes = encode_units(c.codec, x, 9);
      const auto y = decode_units(c.codec, bytes, static_cast<int64_t>(x.size()), 9);
      size_t failures = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        const double s = c.scale(bytes[i / c.codec.block_elems * c.codec.block_bytes]);
        const double bound = s * c.element_bound(x[i] / s) + std::fabs(x[i]) * 0x1p-22;
        if (std::fabs(static_cast<double>(y[i]) - x[i]) > bound && ++failures <= 5)
          BOOST_ERROR("element " << i << ": " << x[i] << " decodes to " << y[i] << " (scale " << s << ")");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(refusals_and_the_ignored_importance_matrix) {
  for (const auto* c : {&mxfp4(), &mxfp8(), &nvfp4()}) {
    BOOST_TEST_CONTEXT(c->name) {
      auto x = random_rows(2, 64, 7);
      std::vector<uint8_t> weighted(2 * 64 / c->block_elems * c->block_bytes), out(weighted.size());
      const std::vector<float> imatrix(64, 2.0f);
      BOOST_REQUIRE_EQUAL(c->encode(x.data(), weighted.data(), 2, 64, imatrix.data()), QF_CODEC_OK);
      BOOST_CHECK(weighted == encode_units(*c, x, 2));
      for (const float bad : {NAN, INFINITY, -INFINITY}) {
        x[40] = bad;
        BOOST_CHECK_EQUAL(c->encode(x.data(), out.data(), 2, 64, nullptr), QF_CODEC_NON_FINITE);
      }
      std::vector<float> y(24);
      BOOST_CHECK_EQUAL(c->encode(x.data(), out.data(), 1, 24, nullptr), QF_CODEC_BAD_ROW_LENGTH);
      BOOST_CHECK_EQUAL(c->decode(out.data(), y.data(), 1, 24), QF_CODEC_BAD_ROW_LENGTH);
    }
  }
}
