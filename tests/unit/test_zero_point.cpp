// The zero-point codecs zp_q{2,4,8}_g{32,64,128} (issue 11 spec item 3): descriptors, blocks
// worked out by hand (scale, zero, LSB-first codes, round half to even, the range widened to
// hold 0, zeros and constants, fp16 underflow and overflow of the scale), decoding of zeros
// past the code range (GPTQ v1's 16), and each width's round-trip error bound.
#include <bit>
#include <cmath>
#include <random>

#include "golden/format_bounds.hpp"
#include "support/whole_tensor_codec.hpp"

using qf_test::check_bytes;
using qf_test::codec_named;
using qf_test::decode_units;
using qf_test::encode_units;

namespace {

// { fp16 scale bits, u16 zero, codes }, little-endian.
std::vector<uint8_t> block(uint16_t scale, uint16_t zero, const std::vector<uint8_t>& codes) {
  std::vector<uint8_t> out(4 + codes.size());
  out[0] = static_cast<uint8_t>(scale & 0xFF);
  out[1] = static_cast<uint8_t>(scale >> 8);
  out[2] = static_cast<uint8_t>(zero & 0xFF);
  out[3] = static_cast<uint8_t>(zero >> 8);
  std::copy(codes.begin(), codes.end(), out.begin() + 4);
  return out;
}

std::vector<uint8_t> repeated(std::vector<uint8_t> pattern, int times) {
  std::vector<uint8_t> out;
  for (int t = 0; t < times; ++t) out.insert(out.end(), pattern.begin(), pattern.end());
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::bit_cast<uint32_t>(a[i]) != std::bit_cast<uint32_t>(b[i])) return false;
  return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(nine_descriptors_with_the_spec_geometry_and_ids) {
  for (int bits : {2, 4, 8})
    for (int gs : {32, 64, 128}) {
      const std::string name = "zp_q" + std::to_string(bits) + "_g" + std::to_string(gs);
      BOOST_TEST_CONTEXT(name) {
        const auto& c = codec_named(name.c_str());
        BOOST_CHECK_EQUAL(c.block_elems, static_cast<uint32_t>(gs));
        BOOST_CHECK_EQUAL(c.block_bytes, static_cast<uint32_t>(4 + gs * bits / 8));
        BOOST_CHECK_EQUAL(c.kind, static_cast<uint32_t>(QF_KIND_QUANTIZED));
        BOOST_CHECK_EQUAL(c.flags, 0u);
        const std::string id = std::to_string(bits) + "/" + std::to_string(gs);
        BOOST_CHECK_EQUAL(quantflow::container_id(c, "zero_point"), id);
        BOOST_CHECK_EQUAL(qf_test::plugins().find_by_container_id("zero_point", id), &c);
      }
    }
  BOOST_CHECK_EQUAL(std::string(codec_named("zp_q4_g128").description),
                    "AutoAWQ/GPTQ zero-point groups: 128 x 4-bit codes with an fp16 scale and a 16-bit zero, "
                    "(q - zero) * scale (4.25 bits per weight)");
  BOOST_CHECK(std::string(codec_named("zp_q2_g32").description).ends_with("(3 bits per weight)"));
  BOOST_CHECK(std::string(codec_named("zp_q8_g64").description).ends_with("(8.5 bits per weight)"));
}

// lo = -3, hi = 4.5: scale 7.5 / 15 = 0.5 (fp16 0x3800), zero round(3 / 0.5) = 6. Element e is
// 0.5 * (e % 16 - 6), code e % 16, except the first three: 0.25 / 0.5 = 0.5 rounds to 0 (half
// to even) -> code 6; 0.75 / 0.5 = 1.5 rounds to 2 -> code 8; -2.6 / 0.5 = -5.2 -> -5 -> code 1.
// Element 2k sits in the low nibble of byte k, 2k + 1 in the high one.
BOOST_AUTO_TEST_CASE(a_4_bit_block_by_hand) {
  std::vector<float> x(32);
  for (int e = 0; e < 32; ++e) x[e] = 0.5f * static_cast<float>(e % 16 - 6);
  x[0] = 0.25f;
  x[1] = 0.75f;
  x[2] = -2.6f;
  const auto want = block(0x3800, 6,
                          {0x86, 0x31, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE,  //
                           0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE});
  const auto& c = codec_named("zp_q4_g32");
  check_bytes(encode_units(c, x), want);
  std::vector<float> decoded = x;
  decoded[0] = 0.0f;
  decoded[1] = 1.0f;
  decoded[2] = -2.5f;
  BOOST_CHECK(same_bits(decode_units(c, want, 32), decoded));
}

// 2 bits: lo -1, hi 2, scale 1, zero 1; element e = e % 4 - 1 has code e % 4, four per byte
// from the low bits up: 0 | 1 << 2 | 2 << 4 | 3 << 6 = 0xE4.
BOOST_AUTO_TEST_CASE(a_2_bit_block_by_hand) {
  std::vector<float> x(32);
  for (int e = 0; e < 32; ++e) x[e] = static_cast<float>(e % 4 - 1);
  const auto want = block(0x3C00, 1, repeated({0xE4}, 8));
  check_bytes(encode_units(codec_named("zp_q2_g32"), x), want);
  BOOST_CHECK(same_bits(decode_units(codec_named("zp_q2_g32"), want, 32), x));
}

// 8 bits: lo -100, hi 155, scale 255 / 255 = 1, zero 100; element e = 8e - 100 has code 8e,
// the last (155) code 255; one byte per code.
BOOST_AUTO_TEST_CASE(an_8_bit_block_by_hand) {
  std::vector<float> x(32);
  std::vector<uint8_t> codes(32);
  for (int e = 0; e < 32; ++e) {
    x[e] = static_cast<float>(8 * e - 100);
    codes[e] = static_cast<uint8_t>(8 * e);
  }
  x[31] = 155.0f;
  codes[31] = 255;
  const auto want = block(0x3C00, 100, codes);
  check_bytes(encode_units(codec_named("zp_q8_g32"), x), want);
  BOOST_CHECK(same_bits(decode_units(codec_named("zp_q8_g32"), want, 32), x));
}

// The range always holds 0 (GPTQ's rule): a constant 3 gives lo 0, hi 3, scale fp16(0.2) =
// 0x3266 (0.199951171875), zero 0, code round(15.0037) = 15; a constant -3 gives zero 15 and
// code 0. Zeros (and -0) store scale 0, zero 0, codes 0 and decode to +0.
BOOST_AUTO_TEST_CASE(constants_and_zeros) {
  const auto& c = codec_named("zp_q4_g32");
  check_bytes(encode_units(c, std::vector<float>(32, 3.0f)), block(0x3266, 0, repeated({0xFF}, 16)));
  check_bytes(encode_units(c, std::vector<float>(32, -3.0f)), block(0x3266, 15, repeated({0x00}, 16)));
  const auto zeros = block(0x0000, 0, repeated({0x00}, 16));
  check_bytes(encode_units(c, std::vector<float>(32, -0.0f)), zeros);
  BOOST_CHECK(same_bits(decode_units(c, zeros, 32), std::vector<float>(32, 0.0f)));
  BOOST_CHECK(same_bits(decode_units(c, block(0x3266, 0, repeated({0xFF}, 16)), 32),
                        std::vector<float>(32, 15.0f * 0.199951171875f)));
}

// A range too small for an fp16 scale stores the smallest subnormal (2^-24) instead of 0; one
// too large stores 65504 instead of infinity, so no block decodes to NaN.
BOOST_AUTO_TEST_CASE(scales_stay_finite_and_nonzero) {
  const auto& c = codec_named("zp_q4_g32");
  check_bytes(encode_units(c, std::vector<float>(32, 1e-9f)), block(0x0001, 0, repeated({0x00}, 16)));
  std::vector<float> huge(32, 0.0f);
  huge[0] = -1e30f;
  huge[1] = 1e30f;
  const auto bytes = encode_units(c, huge);
  BOOST_CHECK_EQUAL(bytes[0], 0xFF);
  BOOST_CHECK_EQUAL(bytes[1], 0x7B);
  for (float v : decode_units(c, bytes, 32)) BOOST_CHECK(std::isfinite(v));
}

// value = (q - zero) * scale with zero up to 2^bits: GPTQ v1's stored 15 means 16 at 4 bits
// (and a stored 255 means 256 at 8 bits), so code 15 decodes to -1 step and code 0 to -16.
BOOST_AUTO_TEST_CASE(zeros_past_the_code_range_decode) {
  std::vector<uint8_t> codes(16, 0x00);
  codes[0] = 0x0F;  // element 0 code 15, element 1 code 0
  std::vector<float> want(32, -16.0f * 0.5f);
  want[0] = -0.5f;
  BOOST_CHECK(same_bits(decode_units(codec_named("zp_q4_g32"), block(0x3800, 16, codes), 32), want));

  std::vector<uint8_t> codes8(32, 255);
  codes8[1] = 0;
  std::vector<float> want8(32, -1.0f * 0.25f);
  want8[1] = -256.0f * 0.25f;
  BOOST_CHECK(same_bits(decode_units(codec_named("zp_q8_g32"), block(0x3400, 256, codes8), 32), want8));
}

BOOST_AUTO_TEST_CASE(refusals) {
  const auto& c = codec_named("zp_q4_g64");
  std::vector<float> x(64, 1.0f);
  std::vector<uint8_t> out(36);
  x[5] = NAN;
  BOOST_CHECK_EQUAL(c.encode(x.data(), out.data(), 1, 64, nullptr), QF_CODEC_NON_FINITE);
  x[5] = INFINITY;
  BOOST_CHECK_EQUAL(c.encode(x.data(), out.data(), 1, 64, nullptr), QF_CODEC_NON_FINITE);
  BOOST_CHECK_EQUAL(c.encode(x.data(), out.data(), 1, 32, nullptr), QF_CODEC_BAD_ROW_LENGTH);
  BOOST_CHECK_EQUAL(c.decode(out.data(), x.data(), 1, 96), QF_CODEC_BAD_ROW_LENGTH);
}

// Every element lies within half a stored step of its input, plus what the fp16 rounding of the
// step can push the top of the range out by (2^bits - 1 codes times 2^-11 of the step, allowed
// twice); the step is no larger than the range (widened to hold 0) needs. Gaussian rows with an
// offset, so that some groups do not straddle 0.
BOOST_AUTO_TEST_CASE(round_trip_error_per_width) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(8 * 512);
  for (size_t i = 0; i < x.size(); ++i) x[i] = normal(rng) * 0.05f + (i / 512 == 3 ? 0.2f : 0.0f);
  for (int bits : {2, 4, 8})
    for (int gs : {32, 64, 128}) {
      const std::string name = "zp_q" + std::to_string(bits) + "_g" + std::to_string(gs);
      BOOST_TEST_CONTEXT(name) {
        const auto& c = codec_named(name.c_str());
        const auto bytes = encode_units(c, x, 8);
        const auto y = decode_units(c, bytes, static_cast<int64_t>(x.size()), 8);
        const double max_code = (1 << bits) - 1;
        size_t failures = 0;
        for (size_t b = 0; b < x.size() / gs; ++b) {
          const uint8_t* blk = bytes.data() + b * c.block_bytes;
          const double step = qf_bounds::half_to_double(static_cast<uint16_t>(blk[0] | blk[1] << 8));
          double lo = 0, hi = 0;
          for (int e = 0; e < gs; ++e) {
            lo = std::min<double>(lo, x[b * gs + e]);
            hi = std::max<double>(hi, x[b * gs + e]);
          }
          const double needed = (hi - lo) / max_code;
          BOOST_CHECK_LE(step, needed * (1 + std::ldexp(1.0, -10)));
          const double bound = step * (0.5 + max_code * std::ldexp(1.0, -10));
          for (int e = 0; e < gs; ++e) {
            const size_t i = b * gs + e;
            if (std::fabs(static_cast<double>(y[i]) - x[i]) > bound && ++failures <= 3)
              BOOST_ERROR("element " << i << ": " << x[i] << " decodes to " << y[i] << ", bound " << bound);
          }
        }
        BOOST_CHECK_EQUAL(failures, 0u);
      }
    }
}
