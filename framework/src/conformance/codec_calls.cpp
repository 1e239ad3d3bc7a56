#include "conformance/codec_calls.hpp"

#include <fmt/format.h>

#include "core/plugin_guard.hpp"

namespace quantflow::conformance {

namespace {

struct NamedResult {
  int32_t code;
  const char* name;
};

constexpr NamedResult kResultNames[] = {
    {QF_CODEC_OK, "QF_CODEC_OK"},
    {QF_CODEC_NEEDS_IMATRIX, "QF_CODEC_NEEDS_IMATRIX"},
    {QF_CODEC_NON_FINITE, "QF_CODEC_NON_FINITE"},
    {QF_CODEC_BAD_ROW_LENGTH, "QF_CODEC_BAD_ROW_LENGTH"},
    {QF_CODEC_UNSUPPORTED, "QF_CODEC_UNSUPPORTED"},
};

}  // namespace

std::string codec_result_name(int32_t code) {
  for (const auto& r : kResultNames)
    if (r.code == code) return r.name;
  return fmt::format("{} (not a QF_CODEC_* value)", code);
}

std::string describe_call(const char* direction, const CallResult& call) {
  if (call.threw)
    return fmt::format("{} threw an exception ({}); a codec must return a QF_CODEC_* value instead", direction,
                       call.exception);
  return fmt::format("{} returned {}", direction, codec_result_name(call.code));
}

CallResult call_encode(const CodecDescriptor& codec, const float* src, void* dst, int64_t n_rows, int64_t n_per_row,
                       const float* imatrix) {
  CallResult result;
  try {
    result.code = codec.encode(src, dst, n_rows, n_per_row, imatrix);
  } catch (...) {
    result.threw = true;
    result.exception = core::current_exception_text();
  }
  return result;
}

CallResult call_decode(const CodecDescriptor& codec, const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  CallResult result;
  try {
    result.code = codec.decode(src, dst, n_rows, n_per_row);
  } catch (...) {
    result.threw = true;
    result.exception = core::current_exception_text();
  }
  return result;
}

uint64_t encoded_row_bytes(const CodecDescriptor& codec, int64_t n_per_row) {
  return dtype_of(codec).bytes_for(static_cast<uint64_t>(n_per_row)) +
         (codec.row_scale ? codec.row_scale->scale_bytes_per_row : 0);
}

double bits_per_element(const CodecDescriptor& codec, int64_t n_per_row) {
  return 8.0 * static_cast<double>(encoded_row_bytes(codec, n_per_row)) / static_cast<double>(n_per_row);
}

std::string RoundTrip::failure() const {
  if (!encode.ok()) return describe_call("encode", encode);
  if (!decode.ok()) return describe_call("decode", decode);
  return {};
}

RoundTrip round_trip(const CodecDescriptor& codec, const std::vector<float>& rows, int64_t n_per_row,
                     const float* imatrix) {
  RoundTrip trip;
  const auto n_rows = static_cast<int64_t>(rows.size()) / n_per_row;
  trip.bytes.assign(static_cast<size_t>(n_rows) * encoded_row_bytes(codec, n_per_row), std::byte{0});
  trip.encode = call_encode(codec, rows.data(), trip.bytes.data(), n_rows, n_per_row, imatrix);
  if (!trip.encode.ok()) return trip;
  std::vector<float> decoded(rows.size());
  trip.decode = call_decode(codec, trip.bytes.data(), decoded.data(), n_rows, n_per_row);
  if (trip.decode.ok()) trip.decoded = std::move(decoded);
  return trip;
}

}  // namespace quantflow::conformance
