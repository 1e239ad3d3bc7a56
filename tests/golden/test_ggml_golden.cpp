// Every ggml type in the golden manifest must encode and decode to ggml's exact bytes.
// A type without a codec plugin fails here: the list of types is data, not a choice.
#include <boost/test/data/test_case.hpp>
#include <fstream>
#include <sstream>

#include "support/test_support.hpp"

namespace {

struct GoldenType {
  std::string name;  // as in types.tsv, e.g. Q4_K
  uint32_t block_elems = 0;
  uint32_t block_bytes = 0;
  bool plain = false;
  bool imatrix = false;
};

std::ostream& operator<<(std::ostream& os, const GoldenType& t) { return os << t.name; }

std::vector<GoldenType> golden_types() {
  std::ifstream in(qf_test::golden_dir() / "types.tsv");
  std::vector<GoldenType> types;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    GoldenType t;
    int id = 0, requires_imatrix = 0, plain = 0, imatrix = 0;
    fields >> t.name >> id >> t.block_elems >> t.block_bytes >> requires_imatrix >> plain >> imatrix;
    t.plain = plain != 0;
    t.imatrix = imatrix != 0;
    types.push_back(t);
  }
  return types;
}

constexpr int64_t kRows = 16;
constexpr int64_t kCols = 512;

const quantflow::CodecDescriptor& codec_for(const GoldenType& t) {
  const auto* codec = qf_test::plugins().find(t.name);
  BOOST_REQUIRE_MESSAGE(codec != nullptr, "no codec plugin provides " << t.name);
  BOOST_REQUIRE_EQUAL(codec->block_elems, t.block_elems);
  BOOST_REQUIRE_EQUAL(codec->block_bytes, t.block_bytes);
  return *codec;
}

void check_bytes(const GoldenType& t, const std::vector<uint8_t>& got, const std::vector<uint8_t>& want,
                 const char* what) {
  BOOST_REQUIRE_EQUAL(want.size(), static_cast<size_t>(kRows * kCols / t.block_elems * t.block_bytes));
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      const size_t block = i / t.block_bytes;
      const size_t blocks_per_row = kCols / t.block_elems;
      BOOST_FAIL(t.name << " " << what << ": first difference in row " << block / blocks_per_row << ", block "
                        << block % blocks_per_row << ", byte " << i % t.block_bytes << ": got " << int(got[i])
                        << ", want " << int(want[i]));
    }
  }
}

void check_floats(const GoldenType& t, const std::vector<float>& got, const std::vector<float>& want,
                  const char* what) {
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    uint32_t a, b;
    std::memcpy(&a, &got[i], 4);
    std::memcpy(&b, &want[i], 4);
    if (a != b) {
      BOOST_FAIL(t.name << " " << what << ": first difference at row " << i / kCols << ", element " << i % kCols
                        << " (block " << (i % kCols) / t.block_elems << "): got " << got[i] << ", want " << want[i]);
    }
  }
}

void run_case(const GoldenType& t, bool with_imatrix) {
  const auto& codec = codec_for(t);
  const std::string stem = t.name + (with_imatrix ? ".imatrix" : "");
  const auto input = qf_test::read_floats(qf_test::golden_dir() / "input.f32");
  const auto imatrix = qf_test::read_floats(qf_test::golden_dir() / "imatrix.f32");
  const auto want_q = qf_test::read_bytes(qf_test::golden_dir() / (stem + ".q"));
  const auto want_f = qf_test::read_floats(qf_test::golden_dir() / (stem + ".dequant.f32"));

  BOOST_REQUIRE_MESSAGE(codec.encode != nullptr, t.name << " has no encoder");
  std::vector<uint8_t> q(want_q.size());
  const int32_t rc = codec.encode(input.data(), q.data(), kRows, kCols, with_imatrix ? imatrix.data() : nullptr);
  BOOST_REQUIRE_MESSAGE(rc == QF_CODEC_OK, t.name << " encode failed: " << quantflow::codec_result_message(rc));
  check_bytes(t, q, want_q, with_imatrix ? "encode with imatrix" : "encode");

  BOOST_REQUIRE_MESSAGE(codec.decode != nullptr, t.name << " has no decoder");
  std::vector<float> f(kRows * kCols);
  BOOST_REQUIRE_EQUAL(codec.decode(want_q.data(), f.data(), kRows, kCols), QF_CODEC_OK);
  check_floats(t, f, want_f, with_imatrix ? "decode (imatrix file)" : "decode");
}

}  // namespace

BOOST_DATA_TEST_CASE(encode_decode_without_imatrix, boost::unit_test::data::make(golden_types()), type) {
  if (!type.plain) {
    // ggml defines these only with an importance matrix: encoding without one must say so.
    const auto& codec = codec_for(type);
    BOOST_CHECK(codec.flags & QF_CODEC_IMATRIX_REQUIRED);
    const auto input = qf_test::read_floats(qf_test::golden_dir() / "input.f32");
    std::vector<uint8_t> q(kRows * kCols / type.block_elems * type.block_bytes);
    BOOST_CHECK_EQUAL(codec.encode(input.data(), q.data(), kRows, kCols, nullptr), QF_CODEC_NEEDS_IMATRIX);
    return;
  }
  run_case(type, false);
}

BOOST_DATA_TEST_CASE(encode_decode_with_imatrix, boost::unit_test::data::make(golden_types()), type) {
  if (!type.imatrix) {
    BOOST_TEST_MESSAGE(type.name << " has no importance-matrix variant in ggml");
    return;
  }
  run_case(type, true);
}

BOOST_AUTO_TEST_CASE(decode_only_intermediate_types) {
  // Q8_1 and Q8_K are ggml's activation formats: decodable, with the documented layouts.
  for (const char* name : {"q8_1", "q8_k"}) {
    const auto* codec = qf_test::plugins().find(name);
    BOOST_REQUIRE_MESSAGE(codec != nullptr, "no codec plugin provides " << name);
    BOOST_CHECK(codec->decode != nullptr);
  }
}
