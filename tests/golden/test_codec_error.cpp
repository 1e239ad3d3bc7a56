// Round-trip error of every codec on the golden input, against bounds that do not come
// from the codec itself. tests/data/codec_error_bounds.tsv names, per codec, the bound that
// applies (docs/codecs.md, "Error bounds", explains each):
//   exact         decoding returns the input bit for bit
//   float         per element, half an ULP of the target format (saturating past its max)
//   scaled_float  the same for x / s, times the block's stored scale s, which must be the
//                 one its rule gives (f16: at most amax / max; E8M0: 2^rint(log2(amax / max));
//                 E4M3: amax / max rounded)
//   linear        per element, half the block's stored step d (value = d*k + m, or
//                 d*(k - z) with a stored zero point) plus anything beyond the code range,
//                 plus the rounding of d and m
//   affine        MLX's grouped affine (value = s*q + b): half a step, at most one step
//                 past the code range, plus the rounding of s and b; |s| at most
//                 (max - min) / (n_bins - 1)
//   kquant        per element, half its sub-block's decoded step plus anything beyond
//                 the code range (ggml's K-quants round to the decoded sub-block grid)
//   ggml          no closed form: per row, no more error than ggml's own decoded golden
//                 output has on the same input (factor kGgmlSlack)
// Independently of its kind, every codec with ggml golden vectors also meets the ggml
// bound for each golden variant (with and without importance matrix). A codec missing from
// the table fails: new codecs must state their bound.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "golden/format_bounds.hpp"
#include "golden/kquant_bounds.hpp"
#include "support/test_support.hpp"

namespace {

constexpr int64_t kRows = 16, kCols = 512;
// Our codecs are bit-exact to ggml, so their error equals ggml's; the factor only allows for
// the last bit of double sums. A worse rounding or search raises the error far more.
constexpr double kGgmlSlack = 1 + 1e-9;

struct Bound {
  std::string kind;
  qf_bounds::Params params;
};

std::map<std::string, Bound> bounds() {
  std::ifstream in(qf_test::data_dir() / "codec_error_bounds.tsv");
  BOOST_REQUIRE(in);
  std::map<std::string, Bound> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string name, kind, params;
    std::getline(f, name, '\t');
    std::getline(f, kind, '\t');
    std::getline(f, params, '\t');
    out[name] = {kind, qf_bounds::parse_params(params == "-" ? "" : params)};
  }
  return out;
}

// A whole-tensor codec (QF_CODEC_WHOLE_TENSOR) takes each row of a call as a tensor of its own.
uint64_t row_bytes(const quantflow::CodecDescriptor& codec) {
  return quantflow::dtype_of(codec).bytes_for(kCols) + (codec.row_scale ? codec.row_scale->scale_bytes_per_row : 0);
}

struct RoundTrip {
  std::vector<uint8_t> encoded;
  std::vector<float> decoded;
};

RoundTrip round_trip(const quantflow::CodecDescriptor& codec, const std::vector<float>& x, const float* imatrix) {
  RoundTrip rt;
  rt.encoded.resize(kRows * row_bytes(codec));
  BOOST_REQUIRE_EQUAL(codec.encode(x.data(), rt.encoded.data(), kRows, kCols, imatrix), QF_CODEC_OK);
  rt.decoded.resize(x.size());
  BOOST_REQUIRE_EQUAL(codec.decode(rt.encoded.data(), rt.decoded.data(), kRows, kCols), QF_CODEC_OK);
  return rt;
}

// Checks each element against a bound from the stored block; returns the elements checked.
size_t check_format_bound(const quantflow::CodecDescriptor& codec, const Bound& bound, const std::vector<float>& x) {
  const RoundTrip rt = round_trip(codec, x, nullptr);
  // A row-scaled codec's "block" is the whole row with its scale behind it; a whole-tensor
  // codec with a tensor-wide scale (apr_q8) has the row's scale in front.
  const bool row_is_block = codec.row_scale != nullptr || codec.tensor_prefix_bytes > 0;
  const auto block_elems = static_cast<size_t>(row_is_block ? kCols : codec.block_elems);
  const size_t block_bytes = row_is_block ? row_bytes(codec) : codec.block_bytes;
  size_t failures = 0, checked = 0;
  for (size_t b = 0; b * block_elems < x.size(); ++b) {
    const float* xb = x.data() + b * block_elems;
    const uint8_t* block = rt.encoded.data() + b * block_bytes;
    qf_bounds::BlockBound bb;
    if (bound.kind == "exact") {
      bb.per_element.assign(block_elems, 0.0);
    } else if (bound.kind == "float") {
      const auto f = qf_bounds::float_format(bound.params);
      for (size_t i = 0; i < block_elems; ++i) bb.per_element.push_back(qf_bounds::float_bound(xb[i], f));
    } else if (bound.kind == "scaled_float") {
      bb = qf_bounds::scaled_float_bound(xb, block_elems, block, bound.params);
    } else if (bound.kind == "linear") {
      bb = qf_bounds::linear_bound(xb, block_elems, block, bound.params);
    } else if (bound.kind == "affine") {
      bb = qf_bounds::affine_bound(xb, block_elems, block, bound.params);
    } else if (bound.kind == "kquant") {
      bb = qf_bounds::kquant_bound(xb, block, codec.name);
    } else {
      BOOST_ERROR(codec.name << ": unknown bound kind '" << bound.kind << "'");
      return 0;
    }
    BOOST_CHECK_MESSAGE(bb.step_violation.empty(), codec.name << " block " << b << ": " << bb.step_violation);
    for (size_t i = 0; i < block_elems; ++i) {
      const size_t at = b * block_elems + i;
      const double err = std::fabs(static_cast<double>(rt.decoded[at]) - static_cast<double>(x[at]));
      ++checked;
      if (err <= bb.per_element[i]) continue;  // NaN fails too
      if (++failures <= 5)
        BOOST_ERROR(codec.name << " (" << bound.kind << "): row " << at / kCols << ", element " << at % kCols << " of "
                               << x[at] << " decodes to " << rt.decoded[at] << ", error " << err << " > bound "
                               << bb.per_element[i]);
    }
  }
  BOOST_CHECK_MESSAGE(failures == 0, codec.name << ": " << failures << " elements exceed the format's bound");
  return checked;
}

struct RowError {
  double sse = 0, max_abs = 0;
};

std::vector<RowError> row_errors(const std::vector<float>& x, const std::vector<float>& y) {
  std::vector<RowError> out(kRows);
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = std::fabs(static_cast<double>(y[i]) - static_cast<double>(x[i]));
    auto& r = out[i / kCols];
    r.sse += d * d;
    r.max_abs = std::max(r.max_abs, std::isfinite(d) ? d : INFINITY);
  }
  return out;
}

// Per row, our round trip's squared error and largest error against ggml's decoded golden
// output for the same input. Returns the variants checked (0 when ggml has no such type).
size_t check_against_ggml(const quantflow::CodecDescriptor& codec, const std::vector<float>& x,
                          const std::vector<float>& imatrix) {
  std::string stem = codec.name;
  for (auto& c : stem) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  size_t variants = 0;
  for (const bool with_imatrix : {false, true}) {
    const auto golden = qf_test::golden_dir() / (stem + (with_imatrix ? ".imatrix" : "") + ".dequant.f32");
    if (!std::filesystem::exists(golden)) continue;
    const auto ggml = row_errors(x, qf_test::read_floats(golden));
    const auto ours = row_errors(x, round_trip(codec, x, with_imatrix ? imatrix.data() : nullptr).decoded);
    for (int64_t r = 0; r < kRows; ++r) {
      const auto& o = ours[static_cast<size_t>(r)];
      const auto& g = ggml[static_cast<size_t>(r)];
      BOOST_CHECK_MESSAGE(o.sse <= g.sse * kGgmlSlack, codec.name << (with_imatrix ? " (imatrix)" : "") << " row " << r
                                                                  << ": squared error " << o.sse << " > ggml's "
                                                                  << g.sse);
      BOOST_CHECK_MESSAGE(o.max_abs <= g.max_abs * kGgmlSlack, codec.name << (with_imatrix ? " (imatrix)" : "")
                                                                          << " row " << r << ": max error " << o.max_abs
                                                                          << " > ggml's " << g.max_abs);
    }
    ++variants;
  }
  return variants;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_codec_stays_within_a_bound_it_did_not_choose) {
  const auto x = qf_test::read_floats(qf_test::golden_dir() / "input.f32");
  const auto w = qf_test::read_floats(qf_test::golden_dir() / "imatrix.f32");
  BOOST_REQUIRE_EQUAL(x.size(), static_cast<size_t>(kRows * kCols));
  const auto table = bounds();
  size_t format_checked = 0, ggml_checked = 0;
  for (const auto* codec : qf_test::plugins().codecs()) {
    if (!codec->encode || !codec->decode) continue;
    BOOST_REQUIRE_EQUAL(kCols % codec->block_elems, 0);
    auto it = table.find(codec->name);
    if (it == table.end()) {
      BOOST_ERROR(codec->name << " has no entry in tests/data/codec_error_bounds.tsv");
      continue;
    }
    const size_t variants = check_against_ggml(*codec, x, w);
    ggml_checked += variants;
    if (it->second.kind == "ggml") {
      BOOST_CHECK_MESSAGE(variants > 0, codec->name << ": bound 'ggml' but no golden vectors for it");
      continue;
    }
    if (codec->flags & QF_CODEC_IMATRIX_REQUIRED) {
      BOOST_ERROR(codec->name << ": a format bound needs an encoding without importance matrix");
      continue;
    }
    BOOST_CHECK_EQUAL(check_format_bound(*codec, it->second, x), x.size());
    ++format_checked;
  }
  BOOST_TEST_MESSAGE(format_checked << " codecs against format bounds, " << ggml_checked << " ggml variants");
  BOOST_CHECK_GE(format_checked, 91u);
  BOOST_CHECK_GE(ggml_checked, 49u);
}
