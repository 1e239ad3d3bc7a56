// APR's native q4 (apr_q4, apr.md §6.2), byte for byte on examples worked out by hand from the
// document: blocks of 32 over the flattened tensor, fp16 scale amax / 7, codes rounded half
// away from zero with the unrounded scale, the short last block's unused nibbles 0, and the
// decoder's flushing of scales below 2^-14. Then the error bound on random data.
#include <bit>
#include <cmath>
#include <random>

#include "codec_kit/whole_tensor.hpp"
#include "golden/format_bounds.hpp"
#include "support/whole_tensor_codec.hpp"

using qf_test::check_bytes;
using qf_test::decode_units;
using qf_test::encode_units;

namespace {

const quantflow::CodecDescriptor& apr_q4() { return qf_test::codec_named("apr_q4"); }

// One 18-byte block: the fp16 scale's bits, then the 16 nibble bytes.
std::vector<uint8_t> block(uint16_t scale, const std::vector<uint8_t>& nibble_bytes) {
  std::vector<uint8_t> out(18, 0x00);
  out[0] = static_cast<uint8_t>(scale & 0xFF);
  out[1] = static_cast<uint8_t>(scale >> 8);
  for (size_t i = 0; i < nibble_bytes.size(); ++i) out[2 + i] = nibble_bytes[i];
  return out;
}

template <class T>
std::vector<T> concat(std::vector<T> a, const std::vector<T>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// amax 14, so s = 2 exactly (fp16 0x4000) and every x / s is exact: the first twelve test
// rounding half away from zero (1.5 -> 2, -0.5 -> -1, 2.5 -> 3, 6.5 -> 7, 0.45 -> 0), the rest
// walk through the codes: x = 2 * ((i % 15) - 7), nibble (i % 15) + 1.
std::vector<float> worked_block() {
  std::vector<float> x = {14, -14, 3, -3, 1, -1, 0, 0.9f, 5, -5, 13, -13};
  for (int i = 12; i < 32; ++i) x.push_back(2.0f * static_cast<float>(i % 15 - 7));
  return x;
}

// Nibbles {15,1, 10,6, 9,7, 8,8, 11,5, 15,1, 13,14, 15,1, 2,3, 4,5, 6,7, 8,9, 10,11, 12,13,
// 14,15, 1,2}: element 2k in the low nibble of byte k, element 2k + 1 in the high one.
const std::vector<uint8_t> kWorkedBlock =
    block(0x4000, {0x1F, 0x6A, 0x79, 0x88, 0x5B, 0x1F, 0xED, 0x1F, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0x21});

std::vector<float> worked_block_decoded() {
  std::vector<float> y = {14, -14, 4, -4, 2, -2, 0, 0, 6, -6, 14, -14};
  for (int i = 12; i < 32; ++i) y.push_back(2.0f * static_cast<float>(i % 15 - 7));
  return y;
}

}  // namespace

BOOST_AUTO_TEST_CASE(descriptor_is_apr_dtype_128_over_the_whole_tensor) {
  const auto& c = apr_q4();
  BOOST_CHECK_EQUAL(c.block_elems, 32u);
  BOOST_CHECK_EQUAL(c.block_bytes, 18u);
  BOOST_CHECK_EQUAL(c.kind, static_cast<uint32_t>(QF_KIND_QUANTIZED));
  BOOST_CHECK_EQUAL(c.flags, static_cast<uint32_t>(QF_CODEC_WHOLE_TENSOR));
  BOOST_CHECK_EQUAL(c.tensor_prefix_bytes, 0u);
  BOOST_CHECK_EQUAL(quantflow::container_id(c, "apr"), "128");
  BOOST_CHECK_EQUAL(qf_test::plugins().find_by_container_id("apr", "128"), &c);
  const auto dtype = quantflow::dtype_of(c);
  BOOST_CHECK_EQUAL(dtype.bytes_for(0), 0u);
  BOOST_CHECK_EQUAL(dtype.bytes_for(1), 18u);
  BOOST_CHECK_EQUAL(dtype.bytes_for(32), 18u);
  BOOST_CHECK_EQUAL(dtype.bytes_for(37), 36u);
}

BOOST_AUTO_TEST_CASE(a_full_block_has_its_scale_and_nibbles_in_place) {
  const auto x = worked_block();
  check_bytes(encode_units(apr_q4(), x), kWorkedBlock);
  BOOST_CHECK(decode_units(apr_q4(), kWorkedBlock, 32) == worked_block_decoded());
}

// s = amax / 7 = 1 + 2^-12, whose fp16 is 1.0 (0x3C00). 2.5005 / s = 2.4999 rounds to 2; divided
// by the stored 1.0 it would round to 3.
BOOST_AUTO_TEST_CASE(codes_divide_by_the_unrounded_scale) {
  const std::vector<float> x = {7.001708984375f, 2.5005f};
  BOOST_REQUIRE_EQUAL(x[0] / 7.0f, 1.0f + 0x1p-12f);
  check_bytes(encode_units(apr_q4(), x), block(0x3C00, {0xAF}));  // nibbles 15 (q 7) and 10 (q 2)
}

// n = 37: two blocks, 36 bytes. The second holds 5 real elements, amax 7 (s = 1): codes 7, -7,
// 3.5 -> 4, 0, -1.75 -> -2; its unused nibbles are 0, and elements past n play no part.
BOOST_AUTO_TEST_CASE(the_short_last_block_pads_with_zero_nibbles) {
  auto x = worked_block();
  for (float v : {7.0f, -7.0f, 3.5f, 0.0f, -1.75f}) x.push_back(v);
  const auto want = concat(kWorkedBlock, block(0x3C00, {0x1F, 0x8C, 0x06}));
  check_bytes(encode_units(apr_q4(), x), want);

  std::vector<float> longer = x;
  longer.insert(longer.end(), {1000.0f, -1000.0f, 1000.0f});
  std::vector<uint8_t> out(36, 0xAA);
  BOOST_REQUIRE_EQUAL(apr_q4().encode(longer.data(), out.data(), 1, 37, nullptr), QF_CODEC_OK);
  check_bytes(out, want);

  std::vector<float> decoded(40, 99.0f);  // decode writes exactly 37 values
  BOOST_REQUIRE_EQUAL(apr_q4().decode(want.data(), decoded.data(), 1, 37), QF_CODEC_OK);
  auto expected = worked_block_decoded();
  expected.insert(expected.end(), {7.0f, -7.0f, 4.0f, 0.0f, -2.0f, 99.0f, 99.0f, 99.0f});
  BOOST_CHECK(decoded == expected);
}

// Shape [3, 20]: 60 elements, 2 blocks over the flattened data. Block 0 is row 0 and the first
// 12 elements of row 1 (its amax, 7 at element 25, gives scale 1); block 1 the rest, 28 real
// elements (-14 at element 40 gives scale 2; 3 at element 59 is 1.5 -> 2).
BOOST_AUTO_TEST_CASE(blocks_cross_row_boundaries) {
  std::vector<float> x(60, 0.0f);
  x[25] = 7.0f;
  x[40] = -14.0f;
  x[59] = 3.0f;
  std::vector<uint8_t> first(16, 0x88), second(16, 0x88);
  first[12] = 0xF8;                // elements 24 (0 -> 8) and 25 (7 -> 15)
  second[4] = 0x81;                // local elements 8 (-7 -> 1) and 9
  second[13] = 0xA8;               // local elements 26 and 27 (2 -> 10)
  second[14] = second[15] = 0x00;  // local 28..31 do not exist
  const auto want = concat(block(0x3C00, first), block(0x4000, second));

  const quantflow::Shape shape{3, 20};
  const auto rows = quantflow::encoding_rows(quantflow::dtype_of(apr_q4()), shape);
  BOOST_CHECK_EQUAL(rows.n_rows, 1u);
  BOOST_CHECK_EQUAL(rows.n_per_row, 60u);
  check_bytes(encode_units(apr_q4(), x), want);

  // The transcoder the conversions use gives the same bytes and decodes them back exactly.
  const auto& f32 = qf_test::codec_named("f32");
  const auto encoded = qf_test::transcode_tensor(f32, apr_q4(), shape, std::as_bytes(std::span(x)));
  check_bytes(qf_test::as_u8(encoded), want);
  const auto decoded = qf_test::transcode_tensor(apr_q4(), f32, shape, encoded);
  std::vector<float> back(60);
  BOOST_REQUIRE_EQUAL(decoded.size(), 240u);
  std::memcpy(back.data(), decoded.data(), decoded.size());
  std::vector<float> expected(60, 0.0f);
  expected[25] = 7.0f;
  expected[40] = -14.0f;
  expected[59] = 4.0f;
  BOOST_CHECK(back == expected);
}

BOOST_AUTO_TEST_CASE(an_all_zero_block_stores_scale_one) {
  check_bytes(encode_units(apr_q4(), std::vector<float>(32, 0.0f)), block(0x3C00, std::vector<uint8_t>(16, 0x88)));
  check_bytes(encode_units(apr_q4(), std::vector<float>(5, -0.0f)), block(0x3C00, {0x88, 0x88, 0x08}));
  const auto zeros = decode_units(apr_q4(), block(0x3C00, std::vector<uint8_t>(16, 0x88)), 32);
  BOOST_CHECK(zeros == std::vector<float>(32, 0.0f));
}

// The only inputs whose x / s leaves [-8.5, 7.5) are blocks whose amax / 7 underflows to 0 in
// f32 (amax of at most 3 * 2^-149): x / 0 is +-inf, clamped to 7 and -8; 0 / 0 gives code 0.
BOOST_AUTO_TEST_CASE(codes_clamp_to_minus_8_and_7) {
  const float tiny = std::bit_cast<float>(1u);  // 2^-149
  BOOST_REQUIRE_EQUAL(tiny / 7.0f, 0.0f);
  check_bytes(encode_units(apr_q4(), {tiny, -tiny, 0.0f}), block(0x0000, {0x0F, 0x08}));
  BOOST_CHECK(decode_units(apr_q4(), block(0x0000, {0x0F, 0x08}), 3) == std::vector<float>(3, 0.0f));

  namespace kit = quantflow::codec_kit;
  BOOST_CHECK_EQUAL(kit::rounded_code(-8.5f, 1.0f, -8, 7), -8);  // -9 clamped
  BOOST_CHECK_EQUAL(kit::rounded_code(-100.0f, 1.0f, -8, 7), -8);
  BOOST_CHECK_EQUAL(kit::rounded_code(7.5f, 1.0f, -8, 7), 7);  // 8 clamped
  BOOST_CHECK_EQUAL(kit::rounded_code(-7.5f, 1.0f, -8, 7), -8);
  BOOST_CHECK_EQUAL(kit::rounded_code(-0.5f, 1.0f, -8, 7), -1);
  BOOST_CHECK_EQUAL(kit::rounded_code(0.49999997f, 1.0f, -8, 7), 0);
  BOOST_CHECK_EQUAL(kit::rounded_code(1.0f, 0.0f, -8, 7), 7);
  BOOST_CHECK_EQUAL(kit::rounded_code(-1.0f, 0.0f, -8, 7), -8);
  BOOST_CHECK_EQUAL(kit::rounded_code(0.0f, 0.0f, -8, 7), 0);
}

// amax 1e-5: s = 1.43e-6, stored as the fp16 subnormal 24 * 2^-24 (0x0018). Scales that are
// subnormal, zero, infinite or NaN decode as 0; the smallest normal, 2^-14, does not.
BOOST_AUTO_TEST_CASE(a_scale_below_the_smallest_normal_fp16_decodes_as_zero) {
  check_bytes(encode_units(apr_q4(), {1e-5f, -1e-5f}), block(0x0018, {0x1F}));
  for (const uint16_t scale : {0x0018, 0x0001, 0x03FF, 0x83FF, 0x0000, 0x7C00, 0xFC00, 0x7E00}) {
    BOOST_TEST_CONTEXT("scale 0x" << std::hex << scale) {
      const auto y = decode_units(apr_q4(), block(scale, std::vector<uint8_t>(16, 0xF0)), 32);
      for (float v : y) BOOST_CHECK_EQUAL(v, 0.0f);
    }
  }
  const auto smallest = decode_units(apr_q4(), block(0x0400, {0xF0}), 2);
  BOOST_CHECK_EQUAL(smallest[0], -8 * 0x1p-14f);
  BOOST_CHECK_EQUAL(smallest[1], 7 * 0x1p-14f);
}

BOOST_AUTO_TEST_CASE(nan_and_infinity_are_refused) {
  for (const float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> x(37, 1.0f);
    x[33] = bad;
    std::vector<uint8_t> out(36);
    BOOST_CHECK_EQUAL(apr_q4().encode(x.data(), out.data(), 1, 37, nullptr), QF_CODEC_NON_FINITE);
  }
}

// Several rows are independent units of bytes_for(n_per_row) each (what plugin-check runs);
// the empty tensor has no bytes.
BOOST_AUTO_TEST_CASE(each_row_of_a_call_is_its_own_tensor) {
  std::vector<float> x(74);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i)) * static_cast<float>(i % 9 + 1);
  const auto both = encode_units(apr_q4(), x, 2);
  BOOST_REQUIRE_EQUAL(both.size(), 72u);
  const auto first = encode_units(apr_q4(), std::vector<float>(x.begin(), x.begin() + 37));
  const auto second = encode_units(apr_q4(), std::vector<float>(x.begin() + 37, x.end()));
  check_bytes(both, concat(first, second));
  BOOST_CHECK(decode_units(apr_q4(), both, 74, 2) ==
              concat(decode_units(apr_q4(), first, 37), decode_units(apr_q4(), second, 37)));
  BOOST_CHECK(encode_units(apr_q4(), {}, 0).empty());
  BOOST_CHECK(encode_units(apr_q4(), {}, 1).empty());
}

// |decoded - x| <= s/2 per element, s the block's stored scale (read here from the bytes),
// plus the fp16 rounding of s (2^-11 relative; codes use the unrounded s) times the codes up to 7
// and the half step: 8 times.
BOOST_AUTO_TEST_CASE(round_trip_error_is_at_most_half_a_step_on_random_data) {
  std::mt19937 rng(4128);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::uniform_real_distribution<float> magnitude(-6.0f, 8.0f);
  for (const int64_t n : {1, 31, 32, 33, 1000, 4099}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (size_t b = 0; b < x.size(); b += 32) {
      const float scale = std::exp2(magnitude(rng));  // amax / 7 stays a normal fp16
      for (size_t i = b; i < std::min(x.size(), b + 32); ++i) x[i] = gauss(rng) * scale;
    }
    const auto bytes = encode_units(apr_q4(), x);
    BOOST_REQUIRE_EQUAL(bytes.size(), static_cast<size_t>((n + 31) / 32 * 18));
    const auto y = decode_units(apr_q4(), bytes, n);
    for (size_t i = 0; i < x.size(); ++i) {
      const double d =
          qf_bounds::half_to_double(static_cast<uint16_t>(bytes[i / 32 * 18] | bytes[i / 32 * 18 + 1] << 8));
      BOOST_REQUIRE_GE(d, std::ldexp(1.0, -14));
      const double bound = d / 2 + 8 * d * std::ldexp(1.0, -11);
      BOOST_CHECK_MESSAGE(std::fabs(static_cast<double>(y[i]) - x[i]) <= bound,
                          "n " << n << ", element " << i << ": " << x[i] << " decodes to " << y[i] << ", step " << d);
    }
  }
}
