// Calling a whole-tensor codec (QF_CODEC_WHOLE_TENSOR) in tests: directly, with buffers sized
// by DType::bytes_for, and through the transcoder the executor uses (one call for the tensor).
#pragma once

#include <cstring>
#include <span>
#include <vector>

#include "pipeline/engine/plan.hpp"
#include "pipeline/engine/transcode.hpp"
#include "support/test_support.hpp"

namespace qf_test {

inline const quantflow::CodecDescriptor& codec_named(const char* name) {
  const auto* c = plugins().find(name);
  BOOST_REQUIRE_MESSAGE(c != nullptr, "no codec plugin provides " << name);
  return *c;
}

// n_rows independent units of x.size() / n_rows elements; the output starts as 0xAA so that
// a byte the encoder leaves alone shows.
inline std::vector<uint8_t> encode_units(const quantflow::CodecDescriptor& c, const std::vector<float>& x,
                                         int64_t n_rows = 1) {
  const int64_t n_per_row = n_rows == 0 ? 0 : static_cast<int64_t>(x.size()) / n_rows;
  const uint64_t unit = quantflow::dtype_of(c).bytes_for(static_cast<uint64_t>(n_per_row));
  std::vector<uint8_t> out(static_cast<size_t>(n_rows) * unit, 0xAA);
  BOOST_REQUIRE_EQUAL(c.encode(x.data(), out.data(), n_rows, n_per_row, nullptr), QF_CODEC_OK);
  return out;
}

inline std::vector<float> decode_units(const quantflow::CodecDescriptor& c, const std::vector<uint8_t>& bytes,
                                       int64_t n_elems, int64_t n_rows = 1) {
  std::vector<float> out(static_cast<size_t>(n_elems));
  BOOST_REQUIRE_EQUAL(c.decode(bytes.data(), out.data(), n_rows, n_rows == 0 ? 0 : n_elems / n_rows), QF_CODEC_OK);
  return out;
}

// Re-encodes a tensor of `shape` stored as `from` into `to` through the transcoder, as a
// conversion does.
inline std::vector<std::byte> transcode_tensor(const quantflow::CodecDescriptor& from,
                                               const quantflow::CodecDescriptor& to, const quantflow::Shape& shape,
                                               std::span<const std::byte> source) {
  namespace qp = quantflow::pipeline;
  qp::TensorJob job;
  job.source = {"w", quantflow::dtype_of(from), shape, source.size(), 0};
  job.target = job.source;
  const auto s = qp::retarget(job, to, plugins());
  BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
  auto bytes = qp::transcode(job, source, nullptr);
  BOOST_REQUIRE_MESSAGE(bytes.ok(), bytes.status().to_string());
  BOOST_REQUIRE_EQUAL(bytes->size(), job.target.n_bytes);
  return std::move(bytes).value();
}

inline void check_bytes(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want) {
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    BOOST_CHECK_MESSAGE(got[i] == want[i],
                        "byte " << i << ": got 0x" << std::hex << int(got[i]) << ", want 0x" << int(want[i]));
}

inline std::vector<uint8_t> as_u8(std::span<const std::byte> bytes) {
  std::vector<uint8_t> out(bytes.size());
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

}  // namespace qf_test
