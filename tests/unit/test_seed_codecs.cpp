// Seed encodings that ggml lacks (docs/seed-formats.md): TQ2_0_g128, FP8 per-32 blocks with
// an fp16 scale, and unscaled FP8 elements. Exact layouts on hand-made blocks, the FP8
// conversions checked exhaustively, round-trip error bounds on the golden input, and the
// environment override of the GGUF type ids.
#include <dlfcn.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <thread>

#include "codec_kit/env_type_id.hpp"
#include "codec_kit/fp16.hpp"
#include "codec_kit/fp8.hpp"
#include "quantflow/plugin.hpp"
#include "support/test_support.hpp"

namespace {

namespace kit = quantflow::codec_kit;
namespace fs = std::filesystem;

using EncodeFn = uint8_t (*)(float);
using DecodeFn = float (*)(uint8_t);

struct Fp8Api {
  const char* name;
  EncodeFn enc;
  DecodeFn dec;
  uint8_t max_code;  // largest finite positive code
};

const Fp8Api kE4M3 = {"e4m3fn", kit::fp32_to_fp8_e4m3, kit::fp8_e4m3_to_fp32, 0x7E};
const Fp8Api kE5M2 = {"e5m2", kit::fp32_to_fp8_e5m2, kit::fp8_e5m2_to_fp32, 0x7B};

uint32_t bits_of(float f) { return std::bit_cast<uint32_t>(f); }

// Brute-force reference: the nearest finite code by value, ties to the even code, magnitudes
// above the maximum saturate. Only for finite inputs.
uint8_t reference_encode(const Fp8Api& api, float f) {
  const uint8_t sign = std::signbit(f) ? 0x80 : 0x00;
  const double a = std::fabs(static_cast<double>(f));
  uint8_t best = 0;
  double best_err = std::numeric_limits<double>::infinity();
  for (int c = 0; c <= api.max_code; ++c) {
    const double err = std::fabs(static_cast<double>(api.dec(static_cast<uint8_t>(c))) - a);
    if (err < best_err || (err == best_err && (c & 1) == 0)) {
      best = static_cast<uint8_t>(c);
      best_err = err;
    }
  }
  return static_cast<uint8_t>(sign | best);
}

const QfCodecDescriptor& codec(const char* name) {
  const auto* c = qf_test::plugins().find(name);
  BOOST_REQUIRE_MESSAGE(c != nullptr, "no codec plugin provides " << name);
  return *c;
}

std::vector<uint8_t> encode(const QfCodecDescriptor& c, const std::vector<float>& x, int64_t n_rows) {
  const int64_t n_per_row = static_cast<int64_t>(x.size()) / n_rows;
  std::vector<uint8_t> out(static_cast<size_t>(n_rows * n_per_row / c.block_elems * c.block_bytes), 0xAA);
  BOOST_REQUIRE_EQUAL(c.encode(x.data(), out.data(), n_rows, n_per_row, nullptr), QF_CODEC_OK);
  return out;
}

std::vector<float> decode(const QfCodecDescriptor& c, const std::vector<uint8_t>& q, int64_t n_rows) {
  const int64_t n_per_row = static_cast<int64_t>(q.size()) / n_rows / c.block_bytes * c.block_elems;
  std::vector<float> out(static_cast<size_t>(n_rows * n_per_row));
  BOOST_REQUIRE_EQUAL(c.decode(q.data(), out.data(), n_rows, n_per_row), QF_CODEC_OK);
  return out;
}

void check_bytes(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want) {
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    BOOST_CHECK_MESSAGE(got[i] == want[i],
                        "byte " << i << ": got 0x" << std::hex << int(got[i]) << ", want 0x" << int(want[i]));
}

bool env_unset(const char* var) { return std::getenv(var) == nullptr; }

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(fp8_conversions)

BOOST_AUTO_TEST_CASE(all_codes_round_trip) {
  for (const Fp8Api* api : {&kE4M3, &kE5M2}) {
    for (int c = 0; c < 256; ++c) {
      const float v = api->dec(static_cast<uint8_t>(c));
      BOOST_CHECK_MESSAGE(api->enc(v) == c, api->name << " code 0x" << std::hex << c << " decodes to " << v
                                                      << " which encodes to 0x" << int(api->enc(v)));
      BOOST_CHECK_EQUAL(std::signbit(v), (c & 0x80) != 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(special_codes) {
  for (int c = 0; c < 256; ++c) {
    const int m = c & 0x7F;
    const float a = kit::fp8_e4m3_to_fp32(static_cast<uint8_t>(c));
    BOOST_CHECK_EQUAL(std::isnan(a), m == 0x7F);
    BOOST_CHECK(!std::isinf(a));
    const float b = kit::fp8_e5m2_to_fp32(static_cast<uint8_t>(c));
    BOOST_CHECK_EQUAL(std::isnan(b), m > 0x7C);
    BOOST_CHECK_EQUAL(std::isinf(b), m == 0x7C);
  }
  // Finite codes are strictly increasing in value and symmetric in sign.
  for (const Fp8Api* api : {&kE4M3, &kE5M2}) {
    for (int c = 1; c <= api->max_code; ++c) {
      BOOST_CHECK_LT(api->dec(static_cast<uint8_t>(c - 1)), api->dec(static_cast<uint8_t>(c)));
      BOOST_CHECK_EQUAL(api->dec(static_cast<uint8_t>(c | 0x80)), -api->dec(static_cast<uint8_t>(c)));
    }
  }
}

BOOST_AUTO_TEST_CASE(known_values) {
  // E4M3FN
  BOOST_CHECK_EQUAL(kit::fp8_e4m3_to_fp32(0x7E), 448.0f);
  BOOST_CHECK_EQUAL(kit::fp8_e4m3_to_fp32(0x01), 0x1p-9f);
  BOOST_CHECK_EQUAL(kit::fp8_e4m3_to_fp32(0x07), 7 * 0x1p-9f);  // largest subnormal
  BOOST_CHECK_EQUAL(kit::fp8_e4m3_to_fp32(0x08), 0x1p-6f);      // smallest normal
  BOOST_CHECK_EQUAL(kit::fp8_e4m3_to_fp32(0x38), 1.0f);
  BOOST_CHECK_EQUAL(kit::fp8_e4m3_to_fp32(0xC0), -2.0f);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(448.0f)), 0x7E);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(-448.0f)), 0xFE);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(0x1p-9f)), 0x01);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(1.0f)), 0x38);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(0.0f)), 0x00);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(-0.0f)), 0x80);
  // ties to even
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(1.0625f)), 0x38);    // 1.0 | 1.125
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(1.1875f)), 0x3A);    // 1.125 | 1.25
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(-1.1875f)), 0xBA);   // sign symmetric
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(0x1p-10f)), 0x00);   // 0 | 2^-9
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(0x1.8p-9f)), 0x02);  // 2^-9 | 2^-8
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(0x1.Ep-7f)), 0x08);  // 7*2^-9 | 2^-6: into the normals
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(15.5f)), 0x58);      // 15 (0x57) | 16: carry into the exponent
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(std::nextafter(0x1p-10f, 1.0f))), 0x01);
  // saturation, infinity, NaN
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(464.0f)), 0x7E);  // 448 | (480): saturates
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(1e9f)), 0x7E);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(-FLT_MAX)), 0xFE);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(INFINITY)), 0x7E);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(-INFINITY)), 0xFE);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(NAN)), 0x7F);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(-NAN)), 0xFF);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(std::bit_cast<float>(0x7F800001u))), 0x7F);  // signalling
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(FLT_TRUE_MIN)), 0x00);

  // E5M2
  BOOST_CHECK_EQUAL(kit::fp8_e5m2_to_fp32(0x7B), 57344.0f);
  BOOST_CHECK_EQUAL(kit::fp8_e5m2_to_fp32(0x01), 0x1p-16f);
  BOOST_CHECK_EQUAL(kit::fp8_e5m2_to_fp32(0x04), 0x1p-14f);
  BOOST_CHECK_EQUAL(kit::fp8_e5m2_to_fp32(0x3C), 1.0f);
  BOOST_CHECK_EQUAL(kit::fp8_e5m2_to_fp32(0x7C), INFINITY);
  BOOST_CHECK_EQUAL(kit::fp8_e5m2_to_fp32(0xFC), -INFINITY);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(57344.0f)), 0x7B);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(0x1p-16f)), 0x01);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(1.0f)), 0x3C);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(-0.0f)), 0x80);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(1.125f)), 0x3C);      // 1.0 | 1.25
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(1.375f)), 0x3E);      // 1.25 | 1.5
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(0x1p-17f)), 0x00);    // 0 | 2^-16
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(0x1.8p-16f)), 0x02);  // 2^-16 | 2^-15
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(61440.0f)), 0x7B);    // 57344 | (65536): saturates
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(65536.0f)), 0x7B);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(-1e30f)), 0xFB);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(INFINITY)), 0x7C);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(-INFINITY)), 0xFC);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(NAN)), 0x7E);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(-NAN)), 0xFE);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(std::bit_cast<float>(0x7F800001u))), 0x7E);  // payload 0 -> quiet
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(std::bit_cast<float>(0x7FA00000u))), 0x7D);
  // E5M2 is the top byte of fp16 for every value exact in both.
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e5m2(kit::fp16_to_fp32(0x3D00))), 0x3D);
}

// Every midpoint between neighbouring finite codes goes to the even code; one ulp either
// side goes to the nearer code.
BOOST_AUTO_TEST_CASE(all_midpoints) {
  for (const Fp8Api* api : {&kE4M3, &kE5M2}) {
    for (int c = 0; c < api->max_code; ++c) {
      for (const uint8_t sign : {uint8_t{0x00}, uint8_t{0x80}}) {
        const uint8_t lo = static_cast<uint8_t>(sign | c), hi = static_cast<uint8_t>(sign | (c + 1));
        const float a = api->dec(lo), b = api->dec(hi);
        const float mid = (a + b) * 0.5f;  // exact: a few significant bits
        BOOST_REQUIRE_EQUAL(static_cast<double>(mid), (static_cast<double>(a) + static_cast<double>(b)) / 2);
        const uint8_t even = (c & 1) == 0 ? lo : hi;
        BOOST_CHECK_EQUAL(int(api->enc(mid)), int(even));
        BOOST_CHECK_EQUAL(int(api->enc(std::nextafter(mid, a))), int(lo));
        BOOST_CHECK_EQUAL(int(api->enc(std::nextafter(mid, b))), int(hi));
      }
    }
  }
}

// Against the brute-force nearest-value reference: every fp16 value, and random floats
// spread over the whole exponent range of interest.
BOOST_AUTO_TEST_CASE(matches_reference_encoder) {
  for (const Fp8Api* api : {&kE4M3, &kE5M2}) {
    int failures = 0;
    auto check = [&](float f) {
      const uint8_t want = reference_encode(*api, f), got = api->enc(f);
      if (got != want && ++failures <= 10)
        BOOST_ERROR(api->name << ": " << f << " (0x" << std::hex << bits_of(f) << ") encodes to 0x" << int(got)
                              << ", want 0x" << int(want));
    };
    for (uint32_t h = 0; h < 0x10000u; ++h) {
      const float f = kit::fp16_to_fp32(static_cast<uint16_t>(h));
      if (std::isfinite(f)) check(f);
    }
    std::mt19937 rng(1234);
    std::uniform_int_distribution<uint32_t> man(0, 0x7FFFFFu), exp(127 - 30, 127 + 20), sgn(0, 1);
    for (int i = 0; i < 200000; ++i) check(std::bit_cast<float>((sgn(rng) << 31) | (exp(rng) << 23) | man(rng)));
    BOOST_CHECK_EQUAL(failures, 0);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(descriptors)

BOOST_AUTO_TEST_CASE(geometry_kind_and_ids) {
  struct Want {
    const char* name;
    uint32_t elems, bytes, kind;
    const char* container;
    const char* id;
    const char* env;
  };
  const Want wants[] = {
      {"tq2_0_g128", 128, 34, 2, "gguf", "144", "QUANTFLOW_GGUF_ID_TQ2_0_G128"},
      {"fp8_e4m3_b32", 32, 34, 2, "gguf", "43", "QUANTFLOW_GGUF_ID_FP8_E4M3_B32"},
      {"fp8_e5m2_b32", 32, 34, 2, "gguf", "44", "QUANTFLOW_GGUF_ID_FP8_E5M2_B32"},
      {"f8_e4m3", 1, 1, 0, "safetensors", "F8_E4M3", nullptr},
      {"f8_e5m2", 1, 1, 0, "safetensors", "F8_E5M2", nullptr},
  };
  for (const Want& w : wants) {
    const auto& c = codec(w.name);
    BOOST_TEST_CONTEXT(w.name) {
      BOOST_CHECK_EQUAL(c.block_elems, w.elems);
      BOOST_CHECK_EQUAL(c.block_bytes, w.bytes);
      BOOST_CHECK_EQUAL(c.kind, w.kind);
      BOOST_CHECK_EQUAL(c.flags, 0u);
      BOOST_CHECK(c.encode != nullptr && c.decode != nullptr);
      if (w.env == nullptr || env_unset(w.env))
        BOOST_CHECK_EQUAL(quantflow::container_id(c, w.container), std::string_view(w.id));
      BOOST_CHECK_EQUAL(qf_test::plugins().find_by_container_id(w.container, w.id) == &c,
                        w.env == nullptr || env_unset(w.env));
    }
  }
  BOOST_CHECK(quantflow::container_id(codec("f8_e4m3"), "gguf").empty());
}

BOOST_AUTO_TEST_CASE(bad_row_length) {
  std::vector<float> x(260, 1.0f);
  std::vector<uint8_t> q(4096);
  for (const char* name : {"tq2_0_g128", "fp8_e4m3_b32", "fp8_e5m2_b32"}) {
    const auto& c = codec(name);
    for (int64_t n : {int64_t{33}, int64_t{130}, int64_t{31}, int64_t{-32}}) {
      BOOST_CHECK_EQUAL(c.encode(x.data(), q.data(), 1, n, nullptr), QF_CODEC_BAD_ROW_LENGTH);
      BOOST_CHECK_EQUAL(c.decode(q.data(), x.data(), 1, n), QF_CODEC_BAD_ROW_LENGTH);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(layouts)

BOOST_AUTO_TEST_CASE(tq2_0_g128_block) {
  const auto& c = codec("tq2_0_g128");
  // Element 32n + m holds ((n + m) % 3 - 1) * 2: amax 2, d = 2.0 (0x4000), codes (n+m) % 3.
  std::vector<float> x(128);
  for (int n = 0; n < 4; ++n)
    for (int m = 0; m < 32; ++m) x[32 * n + m] = static_cast<float>((n + m) % 3 - 1) * 2.0f;
  // qs[m] packs codes of elements m, 32+m, 64+m, 96+m in bits 0-1, 2-3, 4-5, 6-7.
  // m % 3 == 0: codes 0,1,2,0 -> 0x24; == 1: 1,2,0,1 -> 0x49; == 2: 2,0,1,2 -> 0x92.
  std::vector<uint8_t> want(34);
  const uint8_t pattern[3] = {0x24, 0x49, 0x92};
  for (int m = 0; m < 32; ++m) want[m] = pattern[m % 3];
  want[32] = 0x00;
  want[33] = 0x40;
  const auto q = encode(c, x, 1);
  check_bytes(q, want);
  const auto y = decode(c, q, 1);
  for (int i = 0; i < 128; ++i) BOOST_CHECK_EQUAL(y[i], x[i]);

  // lroundf ties go away from zero: +-0.5 d -> +-1; anything smaller -> 0. -0.0 -> code 1.
  std::vector<float> t(128, 0.0f);
  t[0] = 4.0f;                           // d = 4 (0x4400)
  t[1] = 2.0f;                           // 0.5 -> +1 (code 2)
  t[2] = -2.0f;                          // -0.5 -> -1 (code 0)
  t[3] = std::nextafter(2.0f, 0.0f);     // < 0.5 -> 0 (code 1)
  t[32] = -4.0f;                         // element 32: bits 2-3 of qs[0]
  t[127] = -0.0f;                        // element 96 + 31: bits 6-7 of qs[31]
  std::vector<uint8_t> want2(34, 0x55);  // code 1 (zero) everywhere
  want2[0] = 0x56 & ~0x0C;               // qs[0]: element 0 code 2, element 32 code 0
  want2[1] = 0x56;                       // element 1 code 2
  want2[2] = 0x54;                       // element 2 code 0
  want2[3] = 0x55;                       // element 3 code 1
  want2[32] = 0x00;
  want2[33] = 0x44;
  check_bytes(encode(c, t, 1), want2);
}

BOOST_AUTO_TEST_CASE(fp8_e4m3_b32_block) {
  const auto& c = codec("fp8_e4m3_b32");
  // amax 896 -> scale 896 / 448 = 2.0 (fp16 0x4000): codes are fp8(x / 2).
  std::vector<float> x(32, 0.0f);
  const float in[] = {896.0f, -896.0f, 2.0f, -1.0f, 0.0f, -0.0f, 0x1p-8f, 2.125f, 2.375f, 3.0f};
  std::copy(std::begin(in), std::end(in), x.begin());
  std::vector<uint8_t> want(34, 0x00);
  const uint8_t head[] = {0x00, 0x40, 0x7E, 0xFE, 0x38, 0xB0, 0x00, 0x80, 0x01, 0x38, 0x3A, 0x3C};
  std::copy(std::begin(head), std::end(head), want.begin());
  const auto q = encode(c, x, 1);
  check_bytes(q, want);
  const auto y = decode(c, q, 1);
  const float out[] = {896.0f, -896.0f, 2.0f, -1.0f, 0.0f, -0.0f, 0x1p-8f, 2.0f, 2.5f, 3.0f};
  for (int i = 0; i < 10; ++i) BOOST_CHECK_EQUAL(bits_of(y[i]), bits_of(out[i]));

  // The pinned rule: codes are fp8(x * (1 / F(scale))), the inverse of the rounded scale.
  // amax 1 -> 1/448 -> fp16 0x1892 = 0.0022315979 (below 1/448), inverse 448.1094.
  // 0.0023714 * 448.1094 = 1.06263 rounds up to 0x39; 0.0023714 / (1/448) = 1.06239 would give 0x38.
  std::vector<float> r(32, 0.0f);
  r[0] = 1.0f;
  r[1] = 0.0023714f;
  const auto qr = encode(c, r, 1);
  BOOST_CHECK_EQUAL(int(qr[0]), 0x92);
  BOOST_CHECK_EQUAL(int(qr[1]), 0x18);
  BOOST_CHECK_EQUAL(int(qr[2]), 0x7E);  // 448.109 -> 448
  BOOST_CHECK_EQUAL(int(qr[3]), 0x39);
  BOOST_CHECK_EQUAL(int(kit::fp32_to_fp8_e4m3(0.0023714f / (1.0f / 448.0f))), 0x38);
}

BOOST_AUTO_TEST_CASE(fp8_e5m2_b32_block) {
  const auto& c = codec("fp8_e5m2_b32");
  // amax 114688 -> scale 2.0 (0x4000).
  std::vector<float> x(32, 0.0f);
  const float in[] = {114688.0f, 2.0f, -3.0f, 0x1p-15f, 2.25f, 2.75f, -0.0f, -114688.0f};
  std::copy(std::begin(in), std::end(in), x.begin());
  std::vector<uint8_t> want(34, 0x00);
  const uint8_t head[] = {0x00, 0x40, 0x7B, 0x3C, 0xBE, 0x01, 0x3C, 0x3E, 0x80, 0xFB};
  std::copy(std::begin(head), std::end(head), want.begin());
  const auto q = encode(c, x, 1);
  check_bytes(q, want);
  const auto y = decode(c, q, 1);
  const float out[] = {114688.0f, 2.0f, -3.0f, 0x1p-15f, 2.0f, 3.0f, -0.0f, -114688.0f};
  for (int i = 0; i < 8; ++i) BOOST_CHECK_EQUAL(bits_of(y[i]), bits_of(out[i]));
}

BOOST_AUTO_TEST_CASE(f8_elements) {
  const std::vector<float> x = {1.0f, -448.0f, 500.0f, INFINITY, -INFINITY, NAN, -0.0f, 0x1p-9f, 1.0625f};
  check_bytes(encode(codec("f8_e4m3"), x, 1), {0x38, 0xFE, 0x7E, 0x7E, 0xFE, 0x7F, 0x80, 0x01, 0x38});
  check_bytes(encode(codec("f8_e5m2"), x, 1), {0x3C, 0xDF, 0x60, 0x7C, 0xFC, 0x7E, 0x80, 0x18, 0x3C});
  const auto y = decode(codec("f8_e5m2"), {0x7B, 0x7C, 0xFC, 0x7D, 0x01}, 1);
  BOOST_CHECK_EQUAL(y[0], 57344.0f);
  BOOST_CHECK_EQUAL(y[1], INFINITY);
  BOOST_CHECK_EQUAL(y[2], -INFINITY);
  BOOST_CHECK(std::isnan(y[3]));
  BOOST_CHECK_EQUAL(y[4], 0x1p-16f);
  const auto z = decode(codec("f8_e4m3"), {0x7E, 0x7F, 0xFF, 0x01}, 1);
  BOOST_CHECK_EQUAL(z[0], 448.0f);
  BOOST_CHECK(std::isnan(z[1]) && std::isnan(z[2]) && std::signbit(z[2]));
  BOOST_CHECK_EQUAL(z[3], 0x1p-9f);
}

// A block of zeros (either sign) is all-zero bytes; it decodes to +0.
BOOST_AUTO_TEST_CASE(all_zero_blocks) {
  for (const char* name : {"tq2_0_g128", "fp8_e4m3_b32", "fp8_e5m2_b32"}) {
    BOOST_TEST_CONTEXT(name) {
      const auto& c = codec(name);
      std::vector<float> x(c.block_elems * 2, 0.0f);
      for (size_t i = c.block_elems; i < x.size(); i += 2) x[i] = -0.0f;  // second block: mixed signs
      const auto q = encode(c, x, 1);
      std::vector<uint8_t> want(q.size(), 0x00);
      if (std::string_view(name) == "tq2_0_g128")  // codes 1 (= 0), scale 0
        for (size_t b = 0; b < 2; ++b) std::fill_n(want.begin() + b * 34, 32, 0x55);
      check_bytes(q, want);
      for (float v : decode(c, q, 1)) BOOST_CHECK_EQUAL(v, 0.0f);
    }
  }
}

// NaN or infinity in a block cannot be carried by a finite scale: the block codecs refuse.
BOOST_AUTO_TEST_CASE(block_codecs_reject_non_finite) {
  for (const char* name : {"tq2_0_g128", "fp8_e4m3_b32", "fp8_e5m2_b32"}) {
    const auto& c = codec(name);
    for (float bad : {NAN, INFINITY, -INFINITY}) {
      std::vector<float> x(c.block_elems * 2, 1.0f);
      x[c.block_elems + 3] = bad;
      std::vector<uint8_t> q(c.block_bytes * 2);
      BOOST_CHECK_EQUAL(c.encode(x.data(), q.data(), 1, static_cast<int64_t>(x.size()), nullptr), QF_CODEC_NON_FINITE);
    }
  }
}

// Beyond the fp16 range the scale saturates to 65504 and the codes to +-FMT_MAX; a block
// whose scale would underflow uses the smallest fp16 subnormal instead of zero.
BOOST_AUTO_TEST_CASE(scale_extremes) {
  {
    std::vector<float> x(32, 0.0f);
    x[0] = 1e30f;
    x[1] = -1e30f;
    x[2] = 448.0f * 65504.0f;
    const auto q = encode(codec("fp8_e4m3_b32"), x, 1);
    BOOST_CHECK_EQUAL(int(q[0]), 0xFF);
    BOOST_CHECK_EQUAL(int(q[1]), 0x7B);
    BOOST_CHECK_EQUAL(int(q[2]), 0x7E);
    BOOST_CHECK_EQUAL(int(q[3]), 0xFE);
    BOOST_CHECK_EQUAL(int(q[4]), 0x7E);
    const auto y = decode(codec("fp8_e4m3_b32"), q, 1);
    BOOST_CHECK_EQUAL(y[0], 448.0f * 65504.0f);
    BOOST_CHECK_EQUAL(y[5], 0.0f);
  }
  {
    std::vector<float> x(32, 0.0f);
    x[0] = 1e-7f;  // 1e-7 / 448 underflows fp16; scale 2^-24, code fp8(1e-7 * 2^24 = 1.68) = 1.625
    const auto q = encode(codec("fp8_e4m3_b32"), x, 1);
    BOOST_CHECK_EQUAL(int(q[0]), 0x01);
    BOOST_CHECK_EQUAL(int(q[1]), 0x00);
    BOOST_CHECK_EQUAL(int(q[2]), 0x3D);
    BOOST_CHECK_EQUAL(decode(codec("fp8_e4m3_b32"), q, 1)[0], 1.625f * 0x1p-24f);
  }
  {
    std::vector<float> x(128, 0.0f);
    x[5] = -1e6f;  // tq2_0_g128: scale saturates to 65504, code -1
    const auto q = encode(codec("tq2_0_g128"), x, 1);
    BOOST_CHECK_EQUAL(int(q[32]), 0xFF);
    BOOST_CHECK_EQUAL(int(q[33]), 0x7B);
    const auto y = decode(codec("tq2_0_g128"), q, 1);
    BOOST_CHECK_EQUAL(y[5], -65504.0f);
    BOOST_CHECK_EQUAL(y[6], 0.0f);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(golden_input)

constexpr int64_t kRows = 16;
constexpr int64_t kCols = 512;

// Round-trip error on the shared golden input; each bound is ~10% above the measured value.
BOOST_AUTO_TEST_CASE(round_trip_error_bounds) {
  const auto x = qf_test::read_floats(qf_test::golden_dir() / "input.f32");
  BOOST_REQUIRE_EQUAL(x.size(), static_cast<size_t>(kRows * kCols));
  struct Bound {
    const char* name;
    double max_rel_rmse;  // worst row, over rows with non-zero rms
    double mean_rel_rmse;
    double max_abs;
  };
  // Measured (x86-64, gcc): see docs/seed-formats.md §6. Row 4 (rms 1e-8) sits below the
  // fp16 normal range, so the scale of tq2_0_g128 is a coarse subnormal there (rel RMSE
  // 1.24), and the unscaled FP8 types flush rows 4 and 10 to zero (rel RMSE 1).
  const Bound bounds[] = {
      {"tq2_0_g128", 1.37, 0.655, 35100.0},      // 1.2425, 0.59477, 31843
      {"fp8_e4m3_b32", 0.0316, 0.0239, 2540.0},  // 0.028722, 0.021663, 2301.3
      {"fp8_e5m2_b32", 0.0585, 0.0458, 4990.0},  // 0.053153, 0.041592, 4534.5
      {"f8_e4m3", 1.1, 0.308, 70900.0},          // 1, 0.27937, 64435
      {"f8_e5m2", 1.1, 0.187, 8300.0},           // 1, 0.16946, 7539.0
  };
  for (const Bound& b : bounds) {
    const auto& c = codec(b.name);
    const auto y = decode(c, encode(c, x, kRows), kRows);
    double worst = 0.0, sum = 0.0, max_abs = 0.0;
    int counted = 0;
    for (int64_t r = 0; r < kRows; ++r) {
      double e2 = 0.0, x2 = 0.0;
      for (int64_t i = r * kCols; i < (r + 1) * kCols; ++i) {
        const double d = static_cast<double>(y[i]) - static_cast<double>(x[i]);
        e2 += d * d;
        x2 += static_cast<double>(x[i]) * static_cast<double>(x[i]);
        max_abs = std::max(max_abs, std::fabs(d));
      }
      if (x2 == 0.0) continue;
      const double rel = std::sqrt(e2 / x2);
      worst = std::max(worst, rel);
      sum += rel;
      ++counted;
    }
    const double mean = sum / counted;
    BOOST_TEST_MESSAGE(b.name << ": rows " << counted << ", rel RMSE max " << worst << " mean " << mean
                              << ", max abs error " << max_abs);
    BOOST_TEST_CONTEXT(b.name) {
      BOOST_CHECK_LE(worst, b.max_rel_rmse);
      BOOST_CHECK_LE(mean, b.mean_rel_rmse);
      BOOST_CHECK_LE(max_abs, b.max_abs);
    }
  }
}

// Rows encoded concurrently on disjoint ranges give the bytes of a single call.
BOOST_AUTO_TEST_CASE(concurrent_rows_match) {
  const auto x = qf_test::read_floats(qf_test::golden_dir() / "input.f32");
  BOOST_REQUIRE_EQUAL(x.size(), static_cast<size_t>(kRows * kCols));
  for (const char* name : {"tq2_0_g128", "fp8_e4m3_b32", "fp8_e5m2_b32", "f8_e4m3", "f8_e5m2"}) {
    const auto& c = codec(name);
    const auto whole = encode(c, x, kRows);
    const size_t row_bytes = whole.size() / kRows;
    std::vector<uint8_t> parts(whole.size(), 0xAA);
    std::vector<int32_t> results(4, -1);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        results[t] = c.encode(x.data() + t * 4 * kCols, parts.data() + t * 4 * row_bytes, 4, kCols, nullptr);
      });
    for (auto& th : threads) th.join();
    for (int32_t r : results) BOOST_CHECK_EQUAL(r, QF_CODEC_OK);
    BOOST_CHECK_MESSAGE(parts == whole, name << ": concurrent encode differs");
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(gguf_id_override)

BOOST_AUTO_TEST_CASE(parse_rules) {
  kit::TypeIdText t = {"7"};
  auto with = [&](const char* value) {
    t = kit::TypeIdText{"7"};
    ::setenv("QF_TEST_SEED_ID", value, 1);
    const bool ok = kit::read_env_type_id("QF_TEST_SEED_ID", t);
    return std::make_pair(ok, std::string(t.text));
  };
  BOOST_CHECK((with("150") == std::make_pair(true, std::string("150"))));
  BOOST_CHECK((with("0150") == std::make_pair(true, std::string("150"))));
  BOOST_CHECK((with("0") == std::make_pair(true, std::string("0"))));
  BOOST_CHECK((with("2147483647") == std::make_pair(true, std::string("2147483647"))));
  for (const char* bad : {"", "2147483648", "99999999999999999999", "-1", "+5", " 5", "5 ", "0x2b", "abc", "4e1"})
    BOOST_CHECK_MESSAGE((with(bad) == std::make_pair(false, std::string("7"))), "accepted '" << bad << "'");
  ::unsetenv("QF_TEST_SEED_ID");
  BOOST_CHECK(!kit::read_env_type_id("QF_TEST_SEED_ID", t));
}

// Loads a private copy of the plugin (a new file, so the loader maps it afresh and the
// entry function reads the environment again) with `var` set to `value`, and returns the
// GGUF id it publishes.
std::string published_id(const std::string& plugin, const char* var, const char* value) {
  qf_test::TempDir tmp;
  const fs::path copy = tmp / ("copy-" + plugin + ".so");
  fs::copy_file(fs::path(QF_PLUGIN_DIR) / ("quantflow-codec-" + plugin + ".so"), copy);
  const char* saved = std::getenv(var);
  const std::string saved_value = saved ? saved : "";
  if (value)
    ::setenv(var, value, 1);
  else
    ::unsetenv(var);
  void* handle = ::dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
  std::string id = "<load failed>";
  if (handle != nullptr) {
    auto entry = reinterpret_cast<qf_plugin_entry_fn>(::dlsym(handle, QUANTFLOW_PLUGIN_SYMBOL));
    const QfPluginDescriptor* d = entry ? entry() : nullptr;
    if (d != nullptr && d->n_codecs == 1) {
      id = std::string(quantflow::container_id(*d->codecs[0], "gguf"));
      // A second call does not re-read the environment.
      ::setenv(var, "999", 1);
      const QfPluginDescriptor* again = entry();
      if (again != d || quantflow::container_id(*again->codecs[0], "gguf") != id) id = "<changed on second call>";
    }
    ::dlclose(handle);
  }
  if (saved)
    ::setenv(var, saved_value.c_str(), 1);
  else
    ::unsetenv(var);
  return id;
}

BOOST_AUTO_TEST_CASE(env_overrides_default_id) {
  BOOST_CHECK_EQUAL(published_id("tq2_0_g128", "QUANTFLOW_GGUF_ID_TQ2_0_G128", "150"), "150");
  BOOST_CHECK_EQUAL(published_id("tq2_0_g128", "QUANTFLOW_GGUF_ID_TQ2_0_G128", nullptr), "144");
  BOOST_CHECK_EQUAL(published_id("tq2_0_g128", "QUANTFLOW_GGUF_ID_TQ2_0_G128", "nope"), "144");
  BOOST_CHECK_EQUAL(published_id("fp8_e4m3_b32", "QUANTFLOW_GGUF_ID_FP8_E4M3_B32", "0045"), "45");
  BOOST_CHECK_EQUAL(published_id("fp8_e4m3_b32", "QUANTFLOW_GGUF_ID_FP8_E4M3_B32", nullptr), "43");
  BOOST_CHECK_EQUAL(published_id("fp8_e4m3_b32", "QUANTFLOW_GGUF_ID_FP8_E4M3_B32", "-3"), "43");
  BOOST_CHECK_EQUAL(published_id("fp8_e5m2_b32", "QUANTFLOW_GGUF_ID_FP8_E5M2_B32", "146"), "146");
  BOOST_CHECK_EQUAL(published_id("fp8_e5m2_b32", "QUANTFLOW_GGUF_ID_FP8_E5M2_B32", nullptr), "44");
  BOOST_CHECK_EQUAL(published_id("fp8_e5m2_b32", "QUANTFLOW_GGUF_ID_FP8_E5M2_B32", "1e3"), "44");
}

BOOST_AUTO_TEST_CASE(cli_loads_plugins_with_override) {
  const auto r = qf_test::run(
      "QUANTFLOW_GGUF_ID_TQ2_0_G128=150 QUANTFLOW_GGUF_ID_FP8_E4M3_B32=bogus QUANTFLOW_GGUF_ID_FP8_E5M2_B32=151 "
      "'" QF_CLI "' plugins --json");
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  // JSON keys are sorted: the "failed" list comes before "plugins".
  const size_t failed = r.out.find("\"failed\"");
  const size_t loaded = r.out.find("\"plugins\"");
  BOOST_REQUIRE(failed != std::string::npos && loaded != std::string::npos && failed < loaded);
  for (const char* name : {"tq2_0_g128", "fp8_e4m3_b32", "fp8_e5m2_b32"}) {
    const std::string plugin = std::string("codec-") + name;
    BOOST_CHECK_MESSAGE(r.out.find("\"" + plugin + "\"", loaded) != std::string::npos,
                        plugin << " missing from: " << r.out);
    BOOST_CHECK_MESSAGE(r.out.substr(failed, loaded - failed).find(plugin) == std::string::npos,
                        plugin << " failed to load: " << r.out);
  }
}

BOOST_AUTO_TEST_SUITE_END()
