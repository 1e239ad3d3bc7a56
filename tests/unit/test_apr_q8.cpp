// APR's native q8 (apr_q8, apr.md §6.3), byte for byte on examples worked out by hand from the
// document: one little-endian f32 scale amax / 127 for the whole tensor, then int8 codes
// rounded half away from zero and clamped to -127..127; an empty tensor has no bytes. Then
// the error bound on random data, and the APR ids of the codecs APR shares with GGUF.
#include <bit>
#include <cmath>
#include <random>

#include "support/whole_tensor_codec.hpp"

using qf_test::check_bytes;
using qf_test::decode_units;
using qf_test::encode_units;

namespace {

const quantflow::CodecDescriptor& apr_q8() { return qf_test::codec_named("apr_q8"); }

}  // namespace

BOOST_AUTO_TEST_CASE(descriptor_is_apr_dtype_129_with_a_tensor_wide_scale) {
  const auto& c = apr_q8();
  BOOST_CHECK_EQUAL(c.block_elems, 1u);
  BOOST_CHECK_EQUAL(c.block_bytes, 1u);
  BOOST_CHECK_EQUAL(c.kind, static_cast<uint32_t>(QF_KIND_QUANTIZED));
  BOOST_CHECK_EQUAL(c.flags, static_cast<uint32_t>(QF_CODEC_WHOLE_TENSOR));
  BOOST_CHECK_EQUAL(c.tensor_prefix_bytes, 4u);
  BOOST_CHECK_EQUAL(quantflow::container_id(c, "apr"), "129");
  BOOST_CHECK_EQUAL(qf_test::plugins().find_by_container_id("apr", "129"), &c);
  const auto dtype = quantflow::dtype_of(c);
  BOOST_CHECK_EQUAL(dtype.bytes_for(0), 0u);
  BOOST_CHECK_EQUAL(dtype.bytes_for(1), 5u);
  BOOST_CHECK_EQUAL(dtype.bytes_for(1000), 1004u);
}

// amax 254: s = 2 (f32 0x40000000). 1 / 2 = 0.5 -> 1, -0.5 -> -1, 1.5 -> 2, 1.45 -> 1, -0.45 -> 0.
BOOST_AUTO_TEST_CASE(the_scale_comes_first_then_one_code_per_element) {
  const std::vector<float> x = {254, -254, 1, -1, 3, 2.9f, -0.9f, 0};
  const std::vector<uint8_t> want = {0x00, 0x00, 0x00, 0x40, 0x7F, 0x81, 0x01, 0xFF, 0x02, 0x01, 0x00, 0x00};
  check_bytes(encode_units(apr_q8(), x), want);
  BOOST_CHECK(decode_units(apr_q8(), want, 8) == (std::vector<float>{254, -254, 2, -2, 4, 2, 0, 0}));
}

BOOST_AUTO_TEST_CASE(an_all_zero_tensor_stores_scale_one) {
  check_bytes(encode_units(apr_q8(), std::vector<float>(3, 0.0f)), {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00});
  BOOST_CHECK(decode_units(apr_q8(), {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00}, 3) == std::vector<float>(3, 0.0f));
}

// The host calls an empty tensor's codec with no rows; a row of 0 elements writes nothing too.
BOOST_AUTO_TEST_CASE(an_empty_tensor_has_no_bytes) {
  BOOST_CHECK_EQUAL(quantflow::dtype_of(apr_q8()).bytes_for(0), 0u);
  const float none = 0.0f;
  std::vector<uint8_t> sentinel(4, 0xAA);
  BOOST_CHECK_EQUAL(apr_q8().encode(&none, sentinel.data(), 0, 0, nullptr), QF_CODEC_OK);
  BOOST_CHECK_EQUAL(apr_q8().encode(&none, sentinel.data(), 1, 0, nullptr), QF_CODEC_OK);
  BOOST_CHECK(sentinel == std::vector<uint8_t>(4, 0xAA));
  float out = 99.0f;
  BOOST_CHECK_EQUAL(apr_q8().decode(sentinel.data(), &out, 1, 0), QF_CODEC_OK);
  BOOST_CHECK_EQUAL(out, 99.0f);
}

// x / s stays within [-127, 127] unless amax / 127 underflows to 0 (amax of at most 63 * 2^-149):
// then +-inf clamps to 127 and -127 (never -128), and 0 / 0 gives code 0.
BOOST_AUTO_TEST_CASE(codes_clamp_to_plus_minus_127) {
  const float tiny = std::bit_cast<float>(1u);  // 2^-149
  BOOST_REQUIRE_EQUAL(tiny / 127.0f, 0.0f);
  check_bytes(encode_units(apr_q8(), {tiny, -tiny, 0.0f}), {0x00, 0x00, 0x00, 0x00, 0x7F, 0x81, 0x00});
}

// A [2, 3] tensor through the transcoder gets one scale: 127 / 127 = 1, so the codes are the
// values themselves (row 0 alone would have had scale 3 / 127).
BOOST_AUTO_TEST_CASE(one_scale_covers_every_row) {
  const std::vector<float> x = {1, 2, 3, -4, 5, 127};
  const auto& f32 = qf_test::codec_named("f32");
  const auto bytes = qf_test::transcode_tensor(f32, apr_q8(), {2, 3}, std::as_bytes(std::span(x)));
  check_bytes(qf_test::as_u8(bytes), {0x00, 0x00, 0x80, 0x3F, 0x01, 0x02, 0x03, 0xFC, 0x05, 0x7F});
  const auto back = qf_test::transcode_tensor(apr_q8(), f32, {2, 3}, bytes);
  std::vector<float> y(6);
  BOOST_REQUIRE_EQUAL(back.size(), 24u);
  std::memcpy(y.data(), back.data(), back.size());
  BOOST_CHECK(y == x);
  // An empty tensor transcodes to no bytes.
  BOOST_CHECK(qf_test::transcode_tensor(f32, apr_q8(), {0, 3}, {}).empty());
}

BOOST_AUTO_TEST_CASE(nan_and_infinity_are_refused) {
  for (const float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> x(10, 1.0f);
    x[9] = bad;
    std::vector<uint8_t> out(14);
    BOOST_CHECK_EQUAL(apr_q8().encode(x.data(), out.data(), 1, 10, nullptr), QF_CODEC_NON_FINITE);
  }
}

// Several rows are independent units of 4 + n_per_row bytes, each with its own scale.
BOOST_AUTO_TEST_CASE(each_row_of_a_call_is_its_own_tensor) {
  const std::vector<float> x = {127, 0, -63.5f, 254, 1, 0};
  check_bytes(encode_units(apr_q8(), x, 2),
              {0x00, 0x00, 0x80, 0x3F, 0x7F, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x40, 0x7F, 0x01, 0x00});
  // -63.5 / 1 = -63.5 -> -64 (0xC0); 1 / 2 = 0.5 -> 1.
}

// |decoded - x| <= s/2 per element with s the stored f32 scale, which must be amax / 127 as
// computed here; plus the f32 rounding of q * s.
BOOST_AUTO_TEST_CASE(round_trip_error_is_at_most_half_a_step_on_random_data) {
  std::mt19937 rng(4129);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  for (const float scale : {1e-30f, 1e-3f, 1.0f, 3e4f, 1e30f}) {
    for (const int64_t n : {1, 7, 1000, 4099}) {
      std::vector<float> x(static_cast<size_t>(n));
      float amax = 0.0f;
      for (auto& v : x) {
        v = gauss(rng) * scale;
        amax = std::max(amax, std::fabs(v));
      }
      const auto bytes = encode_units(apr_q8(), x);
      BOOST_REQUIRE_EQUAL(bytes.size(), static_cast<size_t>(n + 4));
      const float s = std::bit_cast<float>(static_cast<uint32_t>(bytes[0] | bytes[1] << 8 | bytes[2] << 16) |
                                           static_cast<uint32_t>(bytes[3]) << 24);
      BOOST_CHECK_EQUAL(s, amax / 127.0f);
      const auto y = decode_units(apr_q8(), bytes, n);
      for (size_t i = 0; i < x.size(); ++i) {
        const double bound = s / 2.0 + std::fabs(static_cast<double>(y[i])) * std::ldexp(1.0, -24);
        BOOST_CHECK_MESSAGE(std::fabs(static_cast<double>(y[i]) - x[i]) <= bound,
                            "scale " << scale << ", n " << n << ", element " << i << ": " << x[i] << " decodes to "
                                     << y[i] << ", step " << s);
      }
    }
  }
}

// APR's ids 0, 1, 12, 14 and 30 equal GGML's and name the same encodings (apr.md §6.1).
BOOST_AUTO_TEST_CASE(apr_ids_of_the_shared_encodings) {
  const std::pair<const char*, const char*> ids[] = {
      {"0", "f32"}, {"1", "f16"}, {"12", "q4_k"}, {"14", "q6_k"}, {"30", "bf16"}, {"128", "apr_q4"}, {"129", "apr_q8"}};
  for (const auto& [id, name] : ids) {
    const auto* codec = qf_test::plugins().find_by_container_id("apr", id);
    BOOST_REQUIRE_MESSAGE(codec != nullptr, "no codec has apr id " << id);
    BOOST_CHECK_EQUAL(codec->name, std::string(name));
  }
  // The plain types APR numbers differently from GGML belong to the container, not a codec.
  for (const char* id : {"3", "4", "5", "6", "7", "8", "9"})
    BOOST_CHECK_MESSAGE(qf_test::plugins().find_by_container_id("apr", id) == nullptr, "apr id " << id);
}
