// The MLX affine codecs (mlx_q{bits}_g{group}_{f16|bf16|f32}), byte for byte on examples worked
// out by hand from mlx-quant.md §2: the descriptors of all 54, the document's worked example, the
// all-zero group, the negative edge, ties rounded half to even, the bit stream for 3, 5 and 6
// bits, the rounding of scale and bias to their dtype after the codes are fixed, the far edge
// past the code range, the error bound on random data and a round trip through every codec.
#include <bit>
#include <cmath>
#include <random>
#include <string>

#include "golden/format_bounds.hpp"
#include "support/whole_tensor_codec.hpp"

using qf_test::check_bytes;
using qf_test::codec_named;
using qf_test::decode_units;
using qf_test::encode_units;

namespace {

constexpr int kBits[] = {2, 3, 4, 5, 6, 8};
constexpr int kGroups[] = {32, 64, 128};

struct ScaleDtype {
  const char* name;
  uint32_t bytes;
  double relative_rounding;  // of a stored value, at most (half an ULP, doubled)
  float (*read)(const uint8_t*);
};

float read_f16(const uint8_t* p) { return static_cast<float>(qf_bounds::half_to_double(p[0] | p[1] << 8)); }
float read_bf16(const uint8_t* p) { return std::bit_cast<float>(static_cast<uint32_t>(p[0] | p[1] << 8) << 16); }
float read_f32(const uint8_t* p) {
  return std::bit_cast<float>(static_cast<uint32_t>(p[0] | p[1] << 8 | p[2] << 16) | static_cast<uint32_t>(p[3]) << 24);
}

const ScaleDtype kDtypes[] = {
    {"f16", 2, 0x1p-10, read_f16}, {"bf16", 2, 0x1p-8, read_bf16}, {"f32", 4, 0x1p-23, read_f32}};

std::string codec_name(int bits, int group, const ScaleDtype& d) {
  return "mlx_q" + std::to_string(bits) + "_g" + std::to_string(group) + "_" + d.name;
}

std::vector<uint8_t> le16(uint16_t v) { return {static_cast<uint8_t>(v & 0xFF), static_cast<uint8_t>(v >> 8)}; }
std::vector<uint8_t> le32(uint32_t v) {
  return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 24)};
}

// scale field, bias field, code bytes.
std::vector<uint8_t> block(std::vector<uint8_t> scale, const std::vector<uint8_t>& bias,
                           const std::vector<uint8_t>& codes) {
  scale.insert(scale.end(), bias.begin(), bias.end());
  scale.insert(scale.end(), codes.begin(), codes.end());
  return scale;
}

std::vector<float> group_of(std::vector<float> head, size_t group) {
  head.resize(group, 0.0f);
  return head;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_family_has_54_codecs_named_and_laid_out_by_the_spec) {
  size_t seen = 0;
  for (const int bits : kBits)
    for (const int group : kGroups)
      for (const auto& d : kDtypes) {
        const std::string name = codec_name(bits, group, d);
        BOOST_TEST_CONTEXT(name) {
          const auto& c = codec_named(name.c_str());
          BOOST_CHECK_EQUAL(c.block_elems, static_cast<uint32_t>(group));
          BOOST_CHECK_EQUAL(c.block_bytes, 2 * d.bytes + static_cast<uint32_t>(group * bits / 8));
          BOOST_CHECK_EQUAL(c.kind, static_cast<uint32_t>(QF_KIND_QUANTIZED));
          BOOST_CHECK_EQUAL(c.flags, 0u);
          const std::string id = "affine/" + std::to_string(bits) + "/" + std::to_string(group) + "/" + d.name;
          BOOST_CHECK_EQUAL(quantflow::container_id(c, "mlx"), id);
          BOOST_CHECK_EQUAL(qf_test::plugins().find_by_container_id("mlx", id), &c);
          ++seen;
        }
      }
  BOOST_CHECK_EQUAL(seen, 54u);
  BOOST_CHECK_EQUAL(codec_named("mlx_q4_g64_bf16").block_bytes, 36u);
  BOOST_CHECK_EQUAL(std::string(codec_named("mlx_q4_g64_bf16").description),
                    "MLX affine: 4-bit codes, groups of 64, bf16 scale and bias (4.5 bits per weight)");
  for (const auto& p : qf_test::plugins().plugins())
    if (p.name == "codec-mlx_affine") BOOST_CHECK_EQUAL(p.codecs.size(), 54u);
}

// §2.1's example: w_j = j, 4 bits. The positive edge dominates, scale = 31 / -15 and bias = 31,
// codes count down 15, 15, 14, 14, ..., 0, 0 (element 2k low nibble of byte k, 2k + 1 high).
BOOST_AUTO_TEST_CASE(the_documents_worked_example) {
  std::vector<float> w(32);
  for (int j = 0; j < 32; ++j) w[j] = static_cast<float>(j);
  const float scale = 31.0f / -15.0f;
  BOOST_REQUIRE_EQUAL(std::bit_cast<uint32_t>(scale), 0xC0044444u);
  const auto want =
      block(le32(0xC0044444u), le32(0x41F80000u),  // 31.0f
            {0xFF, 0xEE, 0xDD, 0xCC, 0xBB, 0xAA, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00});
  check_bytes(encode_units(codec_named("mlx_q4_g32_f32"), w), want);
  const auto y = decode_units(codec_named("mlx_q4_g32_f32"), want, 32);
  BOOST_CHECK_EQUAL(y[31], 31.0f);
  // The document's w_0 ≈ 9.5e-7 is 2^-20, the unrounded 31 + 15 * scale. Decoding in float32
  // rounds 15 * scale = -(31 - 2^-20) first, a tie that goes to the even -31, so w_0 is 0.
  BOOST_CHECK_EQUAL(std::fma(scale, 15.0f, 31.0f), 0x1p-20f);
  BOOST_CHECK_EQUAL(y[0], 0.0f);
  for (int j = 0; j < 32; ++j) BOOST_CHECK_EQUAL(y[j], scale * static_cast<float>(15 - j / 2) + 31.0f);
}

// scale = max(0 / n_bins, 1e-7), negated; q0 = 0 keeps bias 0. -1e-7 is the f16 subnormal
// 2 * 2^-24 (0x8002), bf16 0xB3D7, f32 0xB3D6BF95. Negative zeros encode the same.
BOOST_AUTO_TEST_CASE(an_all_zero_group_stores_minus_eps_and_zero_codes) {
  const std::vector<uint8_t> zero_codes(16, 0x00);
  const std::pair<const char*, std::vector<uint8_t>> cases[] = {
      {"mlx_q4_g32_f16", block(le16(0x8002), le16(0), zero_codes)},
      {"mlx_q4_g32_bf16", block(le16(0xB3D7), le16(0), zero_codes)},
      {"mlx_q4_g32_f32", block(le32(0xB3D6BF95u), le32(0), zero_codes)}};
  for (const auto& [name, want] : cases) {
    BOOST_TEST_CONTEXT(name) {
      check_bytes(encode_units(codec_named(name), std::vector<float>(32, 0.0f)), want);
      check_bytes(encode_units(codec_named(name), std::vector<float>(32, -0.0f)), want);
      for (const float v : decode_units(codec_named(name), want, 32)) {
        BOOST_CHECK_EQUAL(v, 0.0f);
        BOOST_CHECK(!std::signbit(v));
      }
    }
  }
}

// w in [-3, 1], 2 bits: |-3| > |1|, so scale = 4/3 stays positive, edge -3, q0 = rint(-2.25) =
// -2, scale = -3 / -2 = 1.5, bias = -3. Codes: -3 -> 0, 1 -> rint(2.67) = 3, 0 -> 2, -1 ->
// rint(1.33) = 1, -2 -> rint(0.67) = 1, the zero padding 2. Byte 0 = 0 | 3<<2 | 2<<4 | 1<<6.
BOOST_AUTO_TEST_CASE(when_the_negative_edge_dominates_the_scale_is_positive) {
  const auto w = group_of({-3, 1, 0, -1, -2}, 32);
  const std::vector<uint8_t> codes = {0x6C, 0xA9, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA};
  check_bytes(encode_units(codec_named("mlx_q2_g32_f32"), w), block(le32(0x3FC00000u), le32(0xC0400000u), codes));
  check_bytes(encode_units(codec_named("mlx_q2_g32_f16"), w), block(le16(0x3E00), le16(0xC200), codes));
  check_bytes(encode_units(codec_named("mlx_q2_g32_bf16"), w), block(le16(0x3FC0), le16(0xC040), codes));
  const auto y = decode_units(codec_named("mlx_q2_g32_bf16"), block(le16(0x3FC0), le16(0xC040), codes), 32);
  BOOST_CHECK(y == group_of({-3, 1.5f, 0, -1.5f, -1.5f}, 32));
}

// Two groups of 2 bits, f16. Group 0, w in [-1, 5]: scale0 = -2, q0 = rint(5 / -2 = -2.5) = -2
// (half away from zero would give -3), so scale = -2.5 and bias = 5; 3.75 -> 0.5 -> 0 and 1.25
// -> 1.5 -> 2. Group 1, w in [-1.25, 5]: the same scale and bias; -1.25 -> 2.5 -> 2.
BOOST_AUTO_TEST_CASE(ties_round_half_to_even) {
  auto w = group_of({5, -1, 2.5f, 0, 3.75f, 1.25f}, 32);
  const auto second = group_of({-1.25f, 5, 3.75f, 1.25f}, 32);
  w.insert(w.end(), second.begin(), second.end());
  const auto first_block = block(le16(0xC100), le16(0x4500), {0x98, 0xA8, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA});
  auto want = block(le16(0xC100), le16(0x4500), {0x82, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA});
  want.insert(want.begin(), first_block.begin(), first_block.end());
  check_bytes(encode_units(codec_named("mlx_q2_g32_f16"), w), want);
}

// Codes divide by the scale; multiplying by its float32 inverse rounds differently near ties.
// {1.125, 0, 0.5625}: scale = 1.125 / -15, (0.5625 - 1.125) / scale = 7.4999995 -> 7 (times the
// inverse: 7.5 -> 8). {1.6875, 0, 0.28125}: exactly 12.5 -> 12 (times the inverse: 12.500001 ->
// 13). The zero padding is code 15.
BOOST_AUTO_TEST_CASE(codes_divide_by_the_scale) {
  const auto& codec = codec_named("mlx_q4_g32_f32");
  std::vector<uint8_t> codes(16, 0xFF);
  codes[0] = 0xF0;
  codes[1] = 0xF7;
  check_bytes(encode_units(codec, group_of({1.125f, 0, 0.5625f}, 32)),
              block(le32(std::bit_cast<uint32_t>(1.125f / -15.0f)), le32(0x3F900000u), codes));
  codes[1] = 0xFC;
  check_bytes(encode_units(codec, group_of({1.6875f, 0, 0.28125f}, 32)),
              block(le32(std::bit_cast<uint32_t>(1.6875f / -15.0f)), le32(0x3FD80000u), codes));
}

// w = q - n_bins with q holding 0 and n_bins: scale 1 and bias -n_bins exactly, so the codes
// are q. 3 bits: packs of 8 codes in 3 bytes (codes 0..7 are 0xFAC688: 88 C6 FA); 5 bits: 8
// codes in 5 bytes; 6 bits: 4 codes in 3 bytes (0, 11, 22, 33 are 0x8562C0: C0 62 85).
BOOST_AUTO_TEST_CASE(codes_are_an_lsb_first_bit_stream_for_3_5_and_6_bits) {
  struct Case {
    int bits;
    uint32_t bias_bits;
    std::vector<uint8_t> codes;
    std::vector<uint8_t> bytes;
  };
  const Case cases[] = {
      {3,
       0xC0E00000u,  // -7
       {0, 1, 2, 3, 4, 5, 6, 7, 7, 6, 5, 4, 3, 2, 1, 0, 3, 1, 4, 1, 5, 2, 6, 5, 3, 5, 0, 7, 2, 0, 4, 6},
       {0x88, 0xC6, 0xFA, 0x77, 0x39, 0x05, 0x0B, 0x53, 0xB9, 0x2B, 0x2E, 0xD0}},
      {5,
       0xC1F80000u,  // -31; codes (7e + 3) mod 32
       {3,  10, 17, 24, 31, 6,  13, 20, 27, 2,  9,  16, 23, 30, 5,  12,
        19, 26, 1,  8,  15, 22, 29, 4,  11, 18, 25, 0,  7,  14, 21, 28},
       {0x43, 0x45, 0xFC, 0x4D, 0xA3, 0x5B, 0x24, 0x78, 0x7D, 0x61,
        0x53, 0x07, 0xF4, 0x6C, 0x27, 0x4B, 0x66, 0x70, 0x5C, 0xE5}},
      {6,
       0xC27C0000u,  // -63; codes 11e mod 64, then 63
       {0,  11, 22, 33, 44, 55, 2,  13, 24, 35, 46, 57, 4,  15, 26, 37,
        48, 59, 6,  17, 28, 39, 50, 61, 8,  19, 30, 41, 52, 63, 10, 63},
       {0xC0, 0x62, 0x85, 0xEC, 0x2D, 0x34, 0xD8, 0xE8, 0xE6, 0xC4, 0xA3, 0x95,
        0xF0, 0x6E, 0x44, 0xDC, 0x29, 0xF7, 0xC8, 0xE4, 0xA5, 0xF4, 0xAF, 0xFC}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.bits << " bits") {
      const auto& codec = codec_named(codec_name(c.bits, 32, kDtypes[2]).c_str());
      std::vector<float> w;
      for (const uint8_t q : c.codes) w.push_back(static_cast<float>(q - ((1 << c.bits) - 1)));
      const auto want = block(le32(0x3F800000u), le32(c.bias_bits), c.bytes);
      check_bytes(encode_units(codec, w), want);
      BOOST_CHECK(decode_units(codec, want, 32) == w);
    }
  }
}

// w = {1, 0, ...}, 4 bits: scale = 1 / -15 = -0.0666667 in float32, bias 1. bf16 stores
// -0.06689453 (0xBD89): 0.03125 is (0.03125 - 1) / scale = 14.53 -> 15 with the float32 scale,
// 14.48 -> 14 with the stored one. f16 stores -0.06665039 (0xAC44): 0.5 is 7.4999995 -> 7 with
// the float32 scale, 7.5018 -> 8 with the stored one. The codes follow the float32 scale.
BOOST_AUTO_TEST_CASE(scale_and_bias_are_rounded_to_their_dtype_after_the_codes) {
  auto w = group_of({1.0f, 0.0f, 0.03125f}, 32);
  std::fill(w.begin() + 3, w.end(), 0.5f);
  std::vector<uint8_t> codes = {0xF0, 0x7F};  // codes 0, 15, 15, 7, then 7s
  codes.resize(16, 0x77);
  const auto bf16 = block(le16(0xBD89), le16(0x3F80), codes);
  check_bytes(encode_units(codec_named("mlx_q4_g32_bf16"), w), bf16);
  BOOST_CHECK_EQUAL(decode_units(codec_named("mlx_q4_g32_bf16"), bf16, 32)[2], -0.00341796875f);

  w[2] = 0.5f;
  codes[1] = 0x77;  // codes 0, 15, 7, 7, ...
  const auto f16 = block(le16(0xAC44), le16(0x3C00), codes);
  check_bytes(encode_units(codec_named("mlx_q4_g32_f16"), w), f16);
  BOOST_CHECK_EQUAL(decode_units(codec_named("mlx_q4_g32_f16"), f16, 32)[2], 0.533447265625f);
}

// w in [-4.4, 10.6], 4 bits: scale0 = -1, q0 = rint(-10.6) = -11, scale = 10.6 / -11 = -0.9636.
// -4.4 sits at (−4.4 − 10.6) / scale = 15.57 codes, past 15: it decodes to -3.8545, 0.545 away,
// more than half a step (0.482) but less than one. MLX's bound is one step at the far edge.
BOOST_AUTO_TEST_CASE(the_far_edge_may_lie_past_the_code_range) {
  const auto w = group_of({10.6f, -4.4f}, 32);
  const auto& codec = codec_named("mlx_q4_g32_f32");
  const auto bytes = encode_units(codec, w);
  const float scale = 10.6f / -11.0f;
  check_bytes(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 9),
              block(le32(std::bit_cast<uint32_t>(scale)), le32(std::bit_cast<uint32_t>(10.6f)), {0xF0}));
  const float y = decode_units(codec, bytes, 32)[1];
  BOOST_CHECK_EQUAL(y, scale * 15.0f + 10.6f);
  BOOST_CHECK_GT(std::fabs(y - w[1]), 0.5f * std::fabs(scale));
  BOOST_CHECK_LT(std::fabs(y - w[1]), std::fabs(scale));
}

namespace {

// Gaussian rows with a per-row offset and spread, so that both edges dominate somewhere.
std::vector<float> random_rows(int64_t n_rows, int64_t n_per_row, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x;
  for (int64_t r = 0; r < n_rows; ++r) {
    const float spread = std::ldexp(1.0f, static_cast<int>(r % 7) - 3), offset = spread * (r % 3 == 0 ? 1.5f : -0.5f);
    for (int64_t i = 0; i < n_per_row; ++i) x.push_back(offset + spread * normal(rng));
  }
  return x;
}

// Checks every element against its group's stored scale and bias: inside the code range the
// error is at most half a step; past it (the far edge), what lies beyond, which is under one
// step. The stored values' rounding to their dtype (times the largest code) and float32
// arithmetic come on top. Returns the number of elements past half a step.
size_t check_error_bound(const quantflow::CodecDescriptor& c, int bits, const ScaleDtype& d,
                         const std::vector<float>& x, const std::vector<uint8_t>& bytes, const std::vector<float>& y) {
  const double n_bins = (1 << bits) - 1;
  size_t past_half = 0, failures = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const uint8_t* b = bytes.data() + i / c.block_elems * c.block_bytes;
    const double scale = d.read(b), bias = d.read(b + d.bytes);
    const double t = (x[i] - bias) / scale, beyond = std::max({0.0, t - n_bins, -t});
    const double stored = d.relative_rounding * (n_bins * std::fabs(scale) + std::fabs(bias));
    const double arithmetic = 0x1p-21 * (n_bins * std::fabs(scale) + std::fabs(bias));
    const double err = std::fabs(static_cast<double>(y[i]) - x[i]);
    // The far edge overshoots by at most one code; the stored values' rounding moves t a little.
    const bool ok = beyond <= 1.0 + (stored + arithmetic) / std::fabs(scale) &&
                    err <= std::fabs(scale) * std::max(0.5, beyond) + stored + arithmetic;
    past_half += err > 0.5 * std::fabs(scale) + stored + arithmetic ? 1 : 0;
    if (!ok && ++failures <= 5)
      BOOST_ERROR(c.name << " element " << i << ": " << x[i] << " decodes to " << y[i] << " (scale " << scale
                         << ", bias " << bias << ", " << beyond << " codes past the range)");
  }
  return past_half;
}

}  // namespace

BOOST_AUTO_TEST_CASE(random_data_stays_within_half_a_step_or_the_far_edge_overshoot) {
  const auto x = random_rows(16, 256, 11);
  for (const int bits : kBits) {
    const auto& d = kDtypes[2];
    const auto& c = codec_named(codec_name(bits, 64, d).c_str());
    const auto bytes = encode_units(c, x, 16);
    const size_t past_half = check_error_bound(c, bits, d, x, bytes, decode_units(c, bytes, 4096, 16));
    BOOST_TEST_MESSAGE(c.name << ": " << past_half << " of 4096 elements past half a step (far edges)");
  }
}

// Values on a grid with scale ±1 (exact in every dtype) decode to themselves and encode back
// to the same bytes; random values stay within the bound above.
BOOST_AUTO_TEST_CASE(every_codec_round_trips) {
  size_t checked = 0;
  for (const int bits : kBits)
    for (const int group : kGroups)
      for (const auto& d : kDtypes) {
        const std::string name = codec_name(bits, group, d);
        BOOST_TEST_CONTEXT(name) {
          const auto& c = codec_named(name.c_str());
          const int n_bins = (1 << bits) - 1;
          // Row 0: w = q - n_bins (negative edge, scale 1); row 1: w = n_bins - q (positive
          // edge, scale -1); each group holds codes 0 and n_bins.
          std::vector<float> grid;
          for (int r = 0; r < 2; ++r)
            for (int i = 0; i < 2 * group; ++i) {
              const int q = i % group == 0 ? 0 : i % group == 1 ? n_bins : (i * 7 + r) % (n_bins + 1);
              grid.push_back(static_cast<float>(r == 0 ? q - n_bins : n_bins - q));
            }
          const auto bytes = encode_units(c, grid, 2);
          const auto back = decode_units(c, bytes, static_cast<int64_t>(grid.size()), 2);
          BOOST_CHECK(back == grid);
          BOOST_CHECK(encode_units(c, back, 2) == bytes);

          const auto x = random_rows(4, 256, static_cast<uint32_t>(bits * 1000 + group));
          const auto random_bytes = encode_units(c, x, 4);
          check_error_bound(c, bits, d, x, random_bytes, decode_units(c, random_bytes, 1024, 4));
          ++checked;
        }
      }
  BOOST_CHECK_EQUAL(checked, 54u);
}

BOOST_AUTO_TEST_CASE(refusals_and_the_ignored_importance_matrix) {
  const auto& c = codec_named("mlx_q3_g64_bf16");
  auto x = random_rows(2, 128, 5);
  std::vector<uint8_t> weighted(4 * c.block_bytes);
  const std::vector<float> imatrix(128, 3.0f);
  BOOST_REQUIRE_EQUAL(c.encode(x.data(), weighted.data(), 2, 128, imatrix.data()), QF_CODEC_OK);
  BOOST_CHECK(weighted == encode_units(c, x, 2));
  std::vector<uint8_t> out(weighted.size());
  for (const float bad : {NAN, INFINITY, -INFINITY}) {
    x[77] = bad;
    BOOST_CHECK_EQUAL(c.encode(x.data(), out.data(), 2, 128, nullptr), QF_CODEC_NON_FINITE);
  }
  std::vector<float> y(96);
  BOOST_CHECK_EQUAL(c.encode(x.data(), out.data(), 1, 96, nullptr), QF_CODEC_BAD_ROW_LENGTH);
  BOOST_CHECK_EQUAL(c.decode(out.data(), y.data(), 1, 96), QF_CODEC_BAD_ROW_LENGTH);
}
