// Calling the bundled transcoders in tests: found by their codec pair whether or not those
// codecs are loaded (the MLX and zero-point codecs may come from another plugin), called on
// hand-built blocks, and their output decoded by the target codec (or, for a codec not loaded,
// by the spec's formula in the test) for comparison with the source values.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <vector>

#include "quantflow/transcoder.hpp"
#include "support/test_support.hpp"

namespace qf_test {

inline const quantflow::TranscoderDescriptor& bundled_transcoder(const char* from, const char* to) {
  for (const auto* t : plugins().transcoders())
    if (std::string(t->from) == from && std::string(t->to) == to) return *t;
  BOOST_FAIL("no bundled transcoder " << from << " -> " << to);
  throw std::logic_error("unreachable");
}

// The transcoder's output for n_rows rows of n_per_row elements; dst starts as 0xA5 so that
// a byte it leaves alone shows. Returns the result code.
inline int32_t run_transcoder(const quantflow::TranscoderDescriptor& t, const std::vector<uint8_t>& src,
                              std::vector<uint8_t>& dst, size_t dst_bytes, int64_t n_rows, int64_t n_per_row) {
  dst.assign(dst_bytes, 0xA5);
  return t.transcode(src.data(), dst.data(), n_rows, n_per_row);
}

// Values of `bytes` decoded by the named codec, or nothing when no loaded plugin provides it.
inline std::optional<std::vector<float>> decoded_by(const char* codec, const std::vector<uint8_t>& bytes,
                                                    int64_t n_rows, int64_t n_per_row) {
  const auto* c = plugins().find(codec);
  if (c == nullptr || c->decode == nullptr) return std::nullopt;
  std::vector<float> out(static_cast<size_t>(n_rows * n_per_row));
  BOOST_REQUIRE_EQUAL(c->decode(bytes.data(), out.data(), n_rows, n_per_row), QF_CODEC_OK);
  return out;
}

inline std::vector<float> required_decode(const char* codec, const std::vector<uint8_t>& bytes, int64_t n_rows,
                                          int64_t n_per_row) {
  auto values = decoded_by(codec, bytes, n_rows, n_per_row);
  BOOST_REQUIRE_MESSAGE(values.has_value(), "no plugin decodes " << codec);
  return *values;
}

enum class Zeros { same_sign, any_sign };

// Bit-for-bit equality, or (any_sign) equal zeros of either sign: the exactness contract.
inline void check_same_values(const std::vector<float>& got, const std::vector<float>& want, Zeros zeros,
                              const std::string& what) {
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  size_t wrong = 0;
  for (size_t i = 0; i < got.size() && wrong < 5; ++i) {
    const bool same = std::bit_cast<uint32_t>(got[i]) == std::bit_cast<uint32_t>(want[i]) ||
                      (zeros == Zeros::any_sign && got[i] == 0.0f && want[i] == 0.0f);
    if (!same) ++wrong;
    BOOST_CHECK_MESSAGE(same, what << ": element " << i << " is " << got[i] << " (0x" << std::hex
                                   << std::bit_cast<uint32_t>(got[i]) << "), want " << want[i] << " (0x"
                                   << std::bit_cast<uint32_t>(want[i]) << ")");
  }
}

inline void put_u16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v & 0xFF));
  out.push_back(static_cast<uint8_t>(v >> 8));
}

inline uint16_t get_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

// Element k of a 4-bit stream (byte k/2, low nibble first).
inline int stream_nibble(const uint8_t* stream, int k) { return (stream[k / 2] >> (4 * (k % 2))) & 15; }

inline std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng() & 0xFF);
  return out;
}

}  // namespace qf_test
