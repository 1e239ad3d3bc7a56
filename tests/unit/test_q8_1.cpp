// Q8_1 has no ggml golden vectors (ggml_quantize_chunk never produces it), so these blocks
// are worked out by hand from quant-blocks.md §2.6.
#include "support/test_support.hpp"

namespace {

const quantflow::CodecDescriptor& q8_1() {
  const auto* codec = qf_test::plugins().find("q8_1");
  BOOST_REQUIRE_MESSAGE(codec != nullptr, "no codec plugin provides q8_1");
  BOOST_REQUIRE_EQUAL(codec->block_elems, 32u);
  BOOST_REQUIRE_EQUAL(codec->block_bytes, 36u);
  BOOST_REQUIRE(codec->encode != nullptr);
  BOOST_REQUIRE(codec->decode != nullptr);
  return *codec;
}

}  // namespace

BOOST_AUTO_TEST_CASE(hand_computed_block) {
  const auto& codec = q8_1();
  // amax = 63.5 makes d = 0.5 exactly and id = 2, so x[j] = j/4 lands on j/2: every odd j is a
  // tie, which roundf sends away from zero.
  float x[32];
  x[0] = -63.5f;
  for (int j = 1; j < 32; ++j) x[j] = static_cast<float>(j) * 0.25f;
  int8_t want_q[32];
  want_q[0] = -127;
  int sum = -127;
  for (int j = 1; j < 32; ++j) {
    want_q[j] = static_cast<int8_t>((j + 1) / 2);
    sum += want_q[j];
  }
  BOOST_REQUIRE_EQUAL(sum, 129);

  uint8_t block[36] = {};
  BOOST_REQUIRE_EQUAL(codec.encode(x, block, 1, 32, nullptr), QF_CODEC_OK);
  BOOST_CHECK_EQUAL(block[0] | (block[1] << 8), 0x3800);  // d = 0.5
  BOOST_CHECK_EQUAL(block[2] | (block[3] << 8), 0x5408);  // s = 129 * 0.5 = 64.5
  for (int j = 0; j < 32; ++j) BOOST_CHECK_EQUAL(static_cast<int8_t>(block[4 + j]), want_q[j]);

  float y[32];
  BOOST_REQUIRE_EQUAL(codec.decode(block, y, 1, 32), QF_CODEC_OK);
  for (int j = 0; j < 32; ++j) BOOST_CHECK_EQUAL(y[j], static_cast<float>(want_q[j]) * 0.5f);
}

BOOST_AUTO_TEST_CASE(all_zero_block_and_imatrix_ignored) {
  const auto& codec = q8_1();
  float x[64] = {};
  x[32 + 7] = -1.0f;  // second block: d = 1/127, q = -127, s = -127 * d = -1.0
  float w[32];
  for (float& v : w) v = 3.0f;
  uint8_t plain[72], weighted[72];
  BOOST_REQUIRE_EQUAL(codec.encode(x, plain, 1, 64, nullptr), QF_CODEC_OK);
  BOOST_REQUIRE_EQUAL(codec.encode(x, weighted, 2, 32, w), QF_CODEC_OK);
  BOOST_CHECK(std::memcmp(plain, weighted, sizeof plain) == 0);
  for (int i = 0; i < 36; ++i) BOOST_CHECK_EQUAL(plain[i], 0);
  BOOST_CHECK_EQUAL(plain[36] | (plain[37] << 8), 0x2008);  // fp16(1/127)
  BOOST_CHECK_EQUAL(plain[38] | (plain[39] << 8), 0xBC00);  // fp16(-1.0)
  BOOST_CHECK_EQUAL(static_cast<int8_t>(plain[40 + 7]), -127);
}

BOOST_AUTO_TEST_CASE(rejects_partial_blocks) {
  const auto& codec = q8_1();
  float x[48] = {};
  uint8_t out[72];
  float y[48];
  BOOST_CHECK_EQUAL(codec.encode(x, out, 1, 48, nullptr), QF_CODEC_BAD_ROW_LENGTH);
  BOOST_CHECK_EQUAL(codec.decode(out, y, 1, 48), QF_CODEC_BAD_ROW_LENGTH);
}
