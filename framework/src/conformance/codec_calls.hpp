// Calls into a codec the way the conformance checks need them: exceptions caught and kept
// as text (they must never cross the plugin boundary), result codes named for messages,
// buffers sized from the descriptor (row-scaled codecs add their per-row scale bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "quantflow/codec.hpp"

namespace quantflow::conformance {

struct CallResult {
  int32_t code = QF_CODEC_OK;
  bool threw = false;
  std::string exception;  // what() of the exception, when it threw

  bool ok() const { return !threw && code == QF_CODEC_OK; }
};

// "QF_CODEC_NON_FINITE", or "42 (not a QF_CODEC_* value)".
std::string codec_result_name(int32_t code);

// "encode threw an exception (...)" / "encode returned QF_CODEC_... (message)".
std::string describe_call(const char* direction, const CallResult& call);

CallResult call_encode(const CodecDescriptor& codec, const float* src, void* dst, int64_t n_rows, int64_t n_per_row,
                       const float* imatrix);
CallResult call_decode(const CodecDescriptor& codec, const void* src, float* dst, int64_t n_rows, int64_t n_per_row);

// Bytes of one encoded row of n_per_row elements (a multiple of block_elems).
uint64_t encoded_row_bytes(const CodecDescriptor& codec, int64_t n_per_row);

// Bits per element of a row: the block's bits plus, for row-scaled codecs, the row's scale.
double bits_per_element(const CodecDescriptor& codec, int64_t n_per_row);

// An encode followed by a decode of the same rows.
struct RoundTrip {
  CallResult encode;
  CallResult decode;
  std::vector<std::byte> bytes;
  std::vector<float> decoded;  // empty unless both calls succeeded

  bool ok() const { return encode.ok() && decode.ok(); }
  // Why the round trip did not complete (empty when it did).
  std::string failure() const;
};

RoundTrip round_trip(const CodecDescriptor& codec, const std::vector<float>& rows, int64_t n_per_row,
                     const float* imatrix);

}  // namespace quantflow::conformance
