// The transcoder splits a tensor into row chunks of about 256K elements and encodes them on
// several threads. Every codec must give the same bytes whether a tensor is encoded row by
// row, in those chunks (through the very function the executor calls), or in one call: a
// codec or a transcoder that carried state across rows or chunk edges would differ here.
#include <random>

#include "pipeline/engine/plan.hpp"
#include "pipeline/engine/transcode.hpp"
#include "support/test_support.hpp"

namespace qp = quantflow::pipeline;

namespace {

// Row length 512 fits every block size (at most 256). The transcoder's chunk holds
// 256K / 512 = 512 rows, so 1027 rows make three chunks, the last one short (3 rows).
constexpr int64_t kCols = 512;
constexpr int64_t kRows = 2 * (256 * 1024 / kCols) + 3;

// Gaussian rows whose scale changes from row to row, with an outlier now and then, so
// that neighbouring blocks and rows get different scales.
std::vector<float> tensor_values() {
  std::mt19937 rng(20261204);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(kRows * kCols));
  for (int64_t r = 0; r < kRows; ++r) {
    const float scale = std::ldexp(1.0f, static_cast<int>(r % 13) - 6);
    for (int64_t c = 0; c < kCols; ++c) {
      float v = gauss(rng) * scale;
      if ((r * kCols + c) % 997 == 0) v *= 20.0f;
      x[static_cast<size_t>(r * kCols + c)] = v;
    }
  }
  return x;
}

// One importance weight per column, positive and uneven.
std::vector<float> importance() {
  std::vector<float> w(kCols);
  for (int64_t c = 0; c < kCols; ++c) w[static_cast<size_t>(c)] = 0.25f + static_cast<float>((c * 53) % 89) / 16.0f;
  return w;
}

// Encodes through the transcoder as the executor does: a plan job per stored tensor
// (row-scaled codecs write values and scales as two tensors), put back into the codec's
// own row layout (each row's values followed by its scale) for comparison.
std::vector<std::byte> transcode_in_chunks(const quantflow::CodecDescriptor& codec, const std::vector<float>& x,
                                           const std::vector<float>* imatrix, uint64_t row_bytes) {
  const auto* f32 = qf_test::plugins().find("f32");
  BOOST_REQUIRE(f32 != nullptr);
  qp::Plan plan;
  qp::TensorJob job;
  job.source.name = "w";
  job.source.shape = {static_cast<uint64_t>(kRows), static_cast<uint64_t>(kCols)};
  job.source.dtype = quantflow::dtype_of(*f32);
  job.source.n_bytes = x.size() * sizeof(float);
  job.target = job.source;
  auto s = qp::retarget(job, codec, qf_test::plugins());
  BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
  plan.jobs.push_back(job);
  qp::expand_row_scales(plan);
  const std::span<const std::byte> source(reinterpret_cast<const std::byte*>(x.data()), job.source.n_bytes);
  std::vector<std::byte> joined(static_cast<size_t>(kRows) * row_bytes);
  uint64_t offset_in_row = 0;
  for (const auto& part : plan.jobs) {
    auto bytes = qp::transcode(part, source, imatrix);
    BOOST_REQUIRE_MESSAGE(bytes.ok(), codec.name << ": " << bytes.status().to_string());
    BOOST_REQUIRE_EQUAL(bytes->size(), part.target.n_bytes);
    const uint64_t part_row = part.target.n_bytes / static_cast<uint64_t>(kRows);
    for (int64_t r = 0; r < kRows; ++r)
      std::memcpy(joined.data() + static_cast<uint64_t>(r) * row_bytes + offset_in_row,
                  bytes->data() + static_cast<uint64_t>(r) * part_row, part_row);
    offset_in_row += part_row;
  }
  BOOST_REQUIRE_EQUAL(offset_in_row, row_bytes);
  return joined;
}

size_t first_difference(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return i;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_codec_gives_the_same_bytes_row_by_row_in_chunks_and_in_one_call) {
  const auto x = tensor_values();
  const auto weights = importance();
  BOOST_REQUIRE_GT(x.size(), 2u * 256 * 1024);  // more than two chunks' worth
  size_t checked = 0;
  for (const auto* codec : qf_test::plugins().codecs()) {
    if (codec->encode == nullptr || codec->name == std::string("f32")) continue;
    if (codec->flags & QF_CODEC_WHOLE_TENSOR) continue;  // not split into rows: the next case
    BOOST_REQUIRE_EQUAL(kCols % codec->block_elems, 0);
    const bool uses_imatrix = codec->flags & (QF_CODEC_IMATRIX_REQUIRED | QF_CODEC_IMATRIX_USED);
    const float* w = uses_imatrix ? weights.data() : nullptr;
    const uint64_t row_bytes = static_cast<uint64_t>(kCols / codec->block_elems * codec->block_bytes) +
                               (codec->row_scale ? codec->row_scale->scale_bytes_per_row : 0);

    std::vector<std::byte> whole(static_cast<size_t>(kRows) * row_bytes);
    BOOST_REQUIRE_EQUAL(codec->encode(x.data(), whole.data(), kRows, kCols, w), QF_CODEC_OK);

    std::vector<std::byte> by_row(whole.size());
    for (int64_t r = 0; r < kRows; ++r)
      BOOST_REQUIRE_EQUAL(
          codec->encode(x.data() + r * kCols, by_row.data() + static_cast<uint64_t>(r) * row_bytes, 1, kCols, w),
          QF_CODEC_OK);

    const auto chunked = transcode_in_chunks(*codec, x, uses_imatrix ? &weights : nullptr, row_bytes);

    BOOST_CHECK_MESSAGE(by_row == whole, codec->name << ": row by row differs from one call, first at byte "
                                                     << first_difference(by_row, whole) << " (row "
                                                     << first_difference(by_row, whole) / row_bytes << ")");
    BOOST_CHECK_MESSAGE(chunked == whole, codec->name << ": chunked transcode differs from one call, first at byte "
                                                      << first_difference(chunked, whole) << " (row "
                                                      << first_difference(chunked, whole) / row_bytes << ")");
    // An encoder that wrote nothing would pass the comparisons above.
    BOOST_CHECK_MESSAGE(std::any_of(whole.begin(), whole.end(), [](std::byte b) { return b != std::byte{0}; }),
                        codec->name << " wrote only zeros");
    ++checked;
  }
  BOOST_TEST_MESSAGE("checked " << checked << " codecs");
  BOOST_CHECK_GE(checked, 34u);
}

// A whole-tensor encoding (apr_q4, apr_q8) is never split: the transcoder encodes the tensor in
// one call of one row holding every element, whatever its shape (here rows of 37, which no
// block size divides), and decodes it back the same way.
BOOST_AUTO_TEST_CASE(whole_tensor_codecs_transcode_in_one_call) {
  const auto x = tensor_values();
  const auto* f32 = qf_test::plugins().find("f32");
  BOOST_REQUIRE(f32 != nullptr);
  const quantflow::Shape shape{kRows * kCols / 37 / 4, 37};
  const size_t n = quantflow::element_count(shape);
  const std::span<const std::byte> source(reinterpret_cast<const std::byte*>(x.data()), n * sizeof(float));
  size_t checked = 0;
  for (const auto* codec : qf_test::plugins().codecs()) {
    if ((codec->flags & QF_CODEC_WHOLE_TENSOR) == 0) continue;
    qp::TensorJob job;
    job.source = {"w", quantflow::dtype_of(*f32), shape, source.size(), 0};
    job.target = job.source;
    auto s = qp::retarget(job, *codec, qf_test::plugins());
    BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
    BOOST_CHECK_EQUAL(job.target.n_bytes, quantflow::dtype_of(*codec).bytes_for(n));
    auto bytes = qp::transcode(job, source, nullptr);
    BOOST_REQUIRE_MESSAGE(bytes.ok(), codec->name << ": " << bytes.status().to_string());

    std::vector<std::byte> one_call(job.target.n_bytes);
    BOOST_REQUIRE_EQUAL(codec->encode(x.data(), one_call.data(), 1, static_cast<int64_t>(n), nullptr), QF_CODEC_OK);
    BOOST_CHECK_MESSAGE(*bytes == one_call, codec->name << ": transcoded bytes differ from one call, first at byte "
                                                        << first_difference(*bytes, one_call));

    qp::TensorJob back;
    back.source = job.target;
    back.target = back.source;
    s = qp::retarget(back, *f32, qf_test::plugins());
    BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
    auto decoded = qp::transcode(back, *bytes, nullptr);
    BOOST_REQUIRE_MESSAGE(decoded.ok(), codec->name << ": " << decoded.status().to_string());
    BOOST_REQUIRE_EQUAL(decoded->size(), n * sizeof(float));
    std::vector<float> want(n);
    BOOST_REQUIRE_EQUAL(codec->decode(one_call.data(), want.data(), 1, static_cast<int64_t>(n)), QF_CODEC_OK);
    BOOST_CHECK_MESSAGE(std::memcmp(decoded->data(), want.data(), n * sizeof(float)) == 0,
                        codec->name << ": transcoded decode differs from one call");
    ++checked;
  }
  BOOST_CHECK_GE(checked, 2u);
}
