// The codec kit's SIMD kernels (codec_kit/simd_blocks.hpp) against the scalar reference blocks
// and ggml's golden bytes, on every Highway target this CPU runs: golden rows, constructed
// rounding ties, zero and subnormal blocks, wide-range random rows, odd block counts, and the
// codecs' refusal of NaN and infinity.
#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "codec_kit/finite.hpp"
#include "codec_kit/q4_0_block.hpp"
#include "codec_kit/q8_0_block.hpp"
#include "codec_kit/simd_blocks.hpp"
#include "support/test_support.hpp"

namespace {

namespace kit = quantflow::codec_kit;

template <class Block>
struct Format {
  const char* name;   // as in the golden files
  const char* codec;  // as in the codec registry
  void (*scalar_encode)(const float*, Block&);
  void (*scalar_decode)(const Block&, float*);
  kit::EncodeRunKernel encode;
  kit::DecodeRunKernel decode;
};

const Format<kit::BlockQ8_0> kQ8_0 = {
    "Q8_0", "q8_0", kit::encode_q8_0_block, kit::decode_q8_0_block, kit::encode_q8_0_run, kit::decode_q8_0_run};
const Format<kit::BlockQ4_0> kQ4_0 = {
    "Q4_0", "q4_0", kit::encode_q4_0_block, kit::decode_q4_0_block, kit::encode_q4_0_run, kit::decode_q4_0_run};

constexpr int64_t kElems = 32;

template <class Block>
std::vector<Block> scalar_blocks(const Format<Block>& f, const std::vector<float>& x) {
  std::vector<Block> out(x.size() / kElems);
  for (size_t b = 0; b < out.size(); ++b) f.scalar_encode(x.data() + b * kElems, out[b]);
  return out;
}

template <class Block>
std::vector<uint8_t> bytes_of(const std::vector<Block>& blocks) {
  const auto* p = reinterpret_cast<const uint8_t*>(blocks.data());
  return {p, p + blocks.size() * sizeof(Block)};
}

std::vector<uint32_t> bits_of(const std::vector<float>& v) {
  std::vector<uint32_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = std::bit_cast<uint32_t>(v[i]);
  return out;
}

// Encodes x with the kernel of the current target and the scalar reference, compares the bytes
// (and, for bytes read back, the decoded floats bit for bit), and returns the kernel's bytes.
template <class Block>
std::vector<uint8_t> check_encode(const Format<Block>& f, const std::vector<float>& x, const std::string& what) {
  const auto want = scalar_blocks(f, x);
  std::vector<Block> got(want.size());
  f.encode(x.data(), got.data(), static_cast<int64_t>(got.size()));
  std::vector<float> want_y(x.size()), got_y(x.size());
  for (size_t b = 0; b < want.size(); ++b) f.scalar_decode(want[b], want_y.data() + b * kElems);
  f.decode(want.data(), got_y.data(), static_cast<int64_t>(want.size()));
  BOOST_TEST_CONTEXT(f.name << " " << what) {
    BOOST_TEST(bytes_of(got) == bytes_of(want), boost::test_tools::per_element());
    BOOST_TEST(bits_of(got_y) == bits_of(want_y), boost::test_tools::per_element());
  }
  return bytes_of(got);
}

// Every block shape that has tripped exact SIMD ports: ties and near-ties of the rounding
// (scaled by powers of two, which keep them exact), zero blocks of either sign, equal
// magnitudes of opposite sign, subnormals (some blocks with scales that lose precision or
// whose inverse overflows), and random blocks over the whole exponent range.
std::vector<float> hard_blocks() {
  std::vector<float> x;
  const auto block = [&](auto value_of) {
    for (int j = 0; j < kElems; ++j) x.push_back(value_of(j));
  };
  for (const float scale : {1.0f, 0x1p-20f, 0x1p40f, 0x1p-120f, 0x1p-140f}) {
    block([&](int j) { return scale * (j == 0 ? 127.0f : static_cast<float>(j) - 15.5f); });  // q8_0 ties
    block([&](int j) { return scale * (j == 0 ? -8.0f : static_cast<float>(j) / 4.0f - 4.0f); });
    block([&](int j) { return scale * (j == 0 ? 127.0f : (j % 2 ? 0.49999997f : -2.4999998f) + j % 5); });
    block([&](int j) { return scale * (j == 3 ? -8.0f : (j == 9 ? 8.0f : std::nextafter(0.5f, 0.0f) * j)); });
    block([&](int j) { return scale * (j % 7 == 1 ? 3.0f : -3.0f); });  // first of equal magnitudes decides the sign
  }
  block([](int) { return 0.0f; });
  block([](int) { return -0.0f; });
  block([](int j) { return j % 3 ? -0.0f : 0.0f; });
  block([](int j) { return std::numeric_limits<float>::denorm_min() * static_cast<float>(j % 9); });
  block([](int j) { return j == 5 ? -0x1p-126f : std::numeric_limits<float>::denorm_min() * j; });
  block([](int j) { return std::numeric_limits<float>::max() / static_cast<float>(j + 1); });
  std::mt19937 rng(14);
  std::uniform_real_distribution<float> mantissa(-2.0f, 2.0f);
  std::uniform_int_distribution<int> exponent(-149, 120);
  for (int b = 0; b < 4000; ++b) {
    const float scale = std::ldexp(1.0f, exponent(rng));
    block([&](int) { return mantissa(rng) * scale; });
  }
  return x;
}

// Restores the best target when a test case ends, also when it fails.
struct EachTarget {
  std::vector<int64_t> targets = kit::simd_targets();
  ~EachTarget() { kit::use_simd_target(0); }
};

template <class Block>
void run_all(const Format<Block>& f) {
  EachTarget each;
  BOOST_REQUIRE(!each.targets.empty());
  const auto golden_input = qf_test::read_floats(qf_test::golden_dir() / "input.f32");
  const auto golden_q = qf_test::read_bytes(qf_test::golden_dir() / (std::string(f.name) + ".q"));
  const auto golden_y = qf_test::read_floats(qf_test::golden_dir() / (std::string(f.name) + ".dequant.f32"));
  const auto hard = hard_blocks();
  std::vector<float> big(1 << 22);  // 16 MiB of f32, one long row
  std::mt19937 rng(1400);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (float& v : big) v = normal(rng);
  const auto* codec = qf_test::plugins().find(f.codec);
  BOOST_REQUIRE(codec != nullptr);
  for (const int64_t target : each.targets) {
    kit::use_simd_target(target);
    BOOST_TEST_MESSAGE(f.name << " on target " << kit::simd_target_name(target));
    BOOST_TEST_CONTEXT("target " << kit::simd_target_name(target)) {
      BOOST_TEST(check_encode(f, golden_input, "golden input") == golden_q, boost::test_tools::per_element());
      std::vector<float> y(golden_input.size());
      f.decode(golden_q.data(), y.data(), static_cast<int64_t>(golden_q.size() / sizeof(Block)));
      BOOST_TEST(bits_of(y) == bits_of(golden_y), boost::test_tools::per_element());
      // The codec plugin runs the same dispatch (Highway's chosen target is process-wide).
      std::vector<uint8_t> q(golden_q.size());
      BOOST_REQUIRE_EQUAL(codec->encode(golden_input.data(), q.data(), 16, 512, nullptr), QF_CODEC_OK);
      BOOST_TEST(q == golden_q, boost::test_tools::per_element());
      check_encode(f, hard, "hard blocks");
      check_encode(f, big, "large row");
      for (size_t n_blocks = 1; n_blocks <= 37; ++n_blocks) {
        check_encode(f, std::vector<float>(hard.end() - n_blocks * kElems, hard.end()), "odd block count");
      }
    }
  }
}

// Random block bytes, including every fp16 scale (infinities, NaNs, subnormals): decoding
// needs no finite input, and NaN payloads must come out as the scalar code makes them.
template <class Block>
void check_decode_any_bytes(const Format<Block>& f) {
  EachTarget each;
  std::vector<Block> blocks(65536);
  std::mt19937 rng(7);
  auto* p = reinterpret_cast<uint8_t*>(blocks.data());
  for (size_t i = 0; i < blocks.size() * sizeof(Block); ++i) p[i] = static_cast<uint8_t>(rng());
  for (size_t b = 0; b < blocks.size(); ++b) kit::store_bits(blocks[b].d, static_cast<uint16_t>(b));
  std::vector<float> want(blocks.size() * kElems);
  for (size_t b = 0; b < blocks.size(); ++b) f.scalar_decode(blocks[b], want.data() + b * kElems);
  for (const int64_t target : each.targets) {
    kit::use_simd_target(target);
    std::vector<float> got(want.size());
    f.decode(blocks.data(), got.data(), static_cast<int64_t>(blocks.size()));
    BOOST_TEST_CONTEXT(f.name << " decode on target " << kit::simd_target_name(target)) {
      BOOST_TEST(bits_of(got) == bits_of(want), boost::test_tools::per_element());
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(q8_0_kernels_match_scalar_and_golden_on_every_target) { run_all(kQ8_0); }

BOOST_AUTO_TEST_CASE(q4_0_kernels_match_scalar_and_golden_on_every_target) { run_all(kQ4_0); }

BOOST_AUTO_TEST_CASE(decoders_match_scalar_on_any_block_bytes) {
  check_decode_any_bytes(kQ8_0);
  check_decode_any_bytes(kQ4_0);
}

// The codecs refuse NaN and infinity wherever they are, as the scalar check did: at every
// position of runs that end inside and outside a whole vector.
BOOST_AUTO_TEST_CASE(non_finite_input_is_refused_on_every_target) {
  EachTarget each;
  const float bad[] = {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                       std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::signaling_NaN()};
  for (const int64_t target : each.targets) {
    kit::use_simd_target(target);
    BOOST_TEST_CONTEXT("target " << kit::simd_target_name(target)) {
      for (int64_t n = 0; n <= 70; ++n) {
        std::vector<float> x(static_cast<size_t>(n), 0x1p-149f);
        BOOST_TEST(kit::all_finite_simd(x.data(), n));
        for (int64_t i = 0; i < n; ++i) {
          for (const float v : bad) {
            x[i] = v;
            BOOST_TEST(!kit::all_finite_simd(x.data(), n), "n " << n << ", element " << i);
            x[i] = std::numeric_limits<float>::max();
          }
        }
        BOOST_TEST(kit::all_finite_simd(x.data(), n) == kit::all_finite(x.data(), n));
      }
      std::vector<float> rows(2 * 64, 1.0f);
      rows[100] = std::numeric_limits<float>::quiet_NaN();
      std::vector<uint8_t> q(2 * 2 * 34);
      for (const char* name : {"q8_0", "q4_0"}) {
        const auto* codec = qf_test::plugins().find(name);
        BOOST_REQUIRE(codec != nullptr);
        BOOST_TEST(codec->encode(rows.data(), q.data(), 2, 64, nullptr) == QF_CODEC_NON_FINITE, name);
      }
    }
  }
}
