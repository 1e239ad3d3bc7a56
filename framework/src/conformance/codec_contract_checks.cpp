// The codec contract of quantflow/codec.hpp beyond the values: error codes come back as
// values, output depends on nothing but the arguments, and disjoint rows encode safely in
// parallel.
#include <algorithm>
#include <latch>
#include <thread>

#include <fmt/format.h>

#include "conformance/accuracy.hpp"
#include "conformance/codec_calls.hpp"
#include "conformance/codec_checks.hpp"
#include "conformance/codec_inputs.hpp"

namespace quantflow::conformance {

namespace {

constexpr int64_t kRows = 4;
// Parallel encoding: kThreads threads, two rows each, several attempts so that a race on
// shared scratch memory has many chances to show.
constexpr int kThreads = 4;
constexpr int64_t kRowsPerThread = 2;
constexpr int kAttempts = 3;

// Byte patterns the output buffers start with: a byte the encoder never writes keeps them.
constexpr auto kFillA = std::byte{0x00};
constexpr auto kFillB = std::byte{0xa5};

std::vector<std::byte> encode_rows(const CodecSubject& s, const std::vector<float>& rows, std::byte fill,
                                   CallResult& result) {
  const auto n_rows = static_cast<int64_t>(rows.size()) / s.n_per_row;
  std::vector<std::byte> bytes(static_cast<size_t>(n_rows) * encoded_row_bytes(s.codec, s.n_per_row), fill);
  result = call_encode(s.codec, rows.data(), bytes.data(), n_rows, s.n_per_row, s.encode_imatrix());
  return bytes;
}

size_t first_difference(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  return static_cast<size_t>(std::mismatch(a.begin(), a.end(), b.begin()).first - a.begin());
}

}  // namespace

Outcome check_imatrix(const CodecSubject& s) {
  const auto rows = random_rows(kRows, s.n_per_row);
  if (s.imatrix_required()) {
    std::vector<std::byte> bytes(static_cast<size_t>(kRows) * encoded_row_bytes(s.codec, s.n_per_row));
    const CallResult without = call_encode(s.codec, rows.data(), bytes.data(), kRows, s.n_per_row, nullptr);
    if (without.threw || without.code != QF_CODEC_NEEDS_IMATRIX)
      return fail(fmt::format("flagged IMATRIX_REQUIRED, but without an imatrix {}, not QF_CODEC_NEEDS_IMATRIX",
                              describe_call("encode", without)));
  }
  const RoundTrip with = round_trip(s.codec, rows, s.n_per_row, s.imatrix.data());
  if (!with.encode.ok()) return fail("with an imatrix: " + describe_call("encode", with.encode));
  if (s.codec.decode != nullptr) {
    if (!with.decode.ok()) return fail("with an imatrix: " + describe_call("decode", with.decode));
    if (const int64_t bad = first_non_finite(with.decoded); bad >= 0)
      return fail(
          fmt::format("with an imatrix, element {} decodes to {}", bad, with.decoded[static_cast<size_t>(bad)]));
    for (int64_t r = 0; r < kRows; ++r)
      if (const double e = relative_rmse(rows, with.decoded, r, s.n_per_row); e > s.bound)
        return fail(fmt::format("with an imatrix, row {} decodes with relative RMS error {:.3g} (bound {:.3g})", r, e,
                                s.bound));
  }
  if (s.imatrix_required()) return pass("refuses to run without an imatrix (QF_CODEC_NEEDS_IMATRIX), works with one");
  // A codec not flagged IMATRIX_USED promises that an imatrix changes nothing.
  if ((s.codec.flags & QF_CODEC_IMATRIX_USED) == 0) {
    CallResult plain;
    const auto without = encode_rows(s, rows, kFillA, plain);
    if (!plain.ok()) return fail("without an imatrix: " + describe_call("encode", plain));
    if (without != with.bytes)
      return fail(fmt::format("not flagged IMATRIX_USED, but an imatrix changes the output (byte {} differs)",
                              first_difference(without, with.bytes)));
    return pass("works with an imatrix, which changes nothing (not flagged IMATRIX_USED)");
  }
  return pass("works with an imatrix");
}

Outcome check_bad_row_length(const CodecSubject& s) {
  if (s.codec.block_elems == 1) return skip("blocks of 1 element: every row length is valid");
  if (s.codec.flags & QF_CODEC_WHOLE_TENSOR) return skip("whole-tensor codec: every length is valid");
  const int64_t n_bad = s.codec.block_elems + 1;
  const auto rows = ramp_rows(1, n_bad);
  // Room for one block more than the row could fill, so that a codec ignoring the length
  // writes into our buffer rather than past it.
  std::vector<std::byte> bytes(encoded_row_bytes(s.codec, 2 * s.codec.block_elems), std::byte{0});
  std::vector<float> decoded(static_cast<size_t>(2 * s.codec.block_elems));
  const auto imatrix = standard_imatrix(n_bad);
  std::string checked;
  if (s.codec.encode != nullptr) {
    const CallResult e = call_encode(s.codec, rows.data(), bytes.data(), 1, n_bad, imatrix.data());
    if (e.threw || e.code != QF_CODEC_BAD_ROW_LENGTH)
      return fail(fmt::format("a row of {} elements (blocks of {}): {}{}", n_bad, s.codec.block_elems,
                              describe_call("encode", e), e.threw ? "" : ", not QF_CODEC_BAD_ROW_LENGTH"));
    checked = "encode";
  }
  if (s.codec.decode != nullptr) {
    const CallResult d = call_decode(s.codec, bytes.data(), decoded.data(), 1, n_bad);
    if (d.threw || d.code != QF_CODEC_BAD_ROW_LENGTH)
      return fail(fmt::format("a row of {} elements (blocks of {}): {}{}", n_bad, s.codec.block_elems,
                              describe_call("decode", d), d.threw ? "" : ", not QF_CODEC_BAD_ROW_LENGTH"));
    checked += checked.empty() ? "decode" : " and decode";
  }
  return pass(fmt::format("{} return QF_CODEC_BAD_ROW_LENGTH for a row of {} elements", checked, n_bad));
}

Outcome check_determinism(const CodecSubject& s) {
  const auto rows = random_rows(kRows, s.n_per_row);
  CallResult first_call, second_call;
  const auto first = encode_rows(s, rows, kFillA, first_call);
  if (!first_call.ok()) return fail(describe_call("encode", first_call));
  const auto second = encode_rows(s, rows, kFillB, second_call);
  if (!second_call.ok()) return fail("the second time, " + describe_call("encode", second_call));
  if (first == second) return pass("encoding the same rows twice gives the same bytes");
  const size_t at = first_difference(first, second);
  if (first[at] == kFillA && second[at] == kFillB)
    return fail(
        fmt::format("encode never writes byte {} of the output (it keeps what the buffer held), so files "
                    "differ from run to run",
                    at));
  return fail(
      fmt::format("encoding the same rows twice gives different bytes (first difference at byte {}: {:#04x} vs "
                  "{:#04x})",
                  at, static_cast<unsigned>(first[at]), static_cast<unsigned>(second[at])));
}

Outcome check_thread_safety(const CodecSubject& s) {
  const int64_t n_rows = kThreads * kRowsPerThread;
  const auto rows = random_rows(n_rows, s.n_per_row);
  CallResult serial_call;
  const auto serial = encode_rows(s, rows, kFillA, serial_call);
  if (!serial_call.ok()) return fail(describe_call("encode", serial_call));
  const uint64_t row_bytes = encoded_row_bytes(s.codec, s.n_per_row);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::vector<std::byte> parallel(serial.size(), kFillA);
    std::vector<CallResult> results(kThreads);
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        const int64_t first_row = t * kRowsPerThread;
        start.arrive_and_wait();  // all threads enter encode together
        results[static_cast<size_t>(t)] =
            call_encode(s.codec, rows.data() + first_row * s.n_per_row, parallel.data() + first_row * row_bytes,
                        kRowsPerThread, s.n_per_row, s.encode_imatrix());
      });
    for (auto& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t)
      if (!results[static_cast<size_t>(t)].ok())
        return fail(fmt::format("in thread {}, {}", t, describe_call("encode", results[static_cast<size_t>(t)])));
    if (parallel != serial) {
      const size_t at = first_difference(serial, parallel);
      return fail(
          fmt::format("{} threads encoding {} rows each give different bytes than one serial call (first "
                      "difference at byte {}, row {}): encode is not safe to call concurrently",
                      kThreads, kRowsPerThread, at, at / row_bytes));
    }
  }
  return pass(
      fmt::format("{} threads encoding {} rows each give the bytes of one serial call", kThreads, kRowsPerThread));
}

}  // namespace quantflow::conformance
