// Round-trip error of every codec on the golden input, against the bounds recorded in
// tests/data/codec_error_bounds.tsv (and documented in docs/codecs.md). A codec missing
// from the table fails: new codecs must state their error.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "support/test_support.hpp"

namespace {

struct Bound {
  double rel_rmse_gauss = 0;
  double rel_rmse_all = 0;
  double max_abs = 0;
};

std::map<std::string, Bound> bounds() {
  std::ifstream in(qf_test::data_dir() / "codec_error_bounds.tsv");
  std::map<std::string, Bound> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string name;
    Bound b;
    f >> name >> b.rel_rmse_gauss >> b.rel_rmse_all >> b.max_abs;
    out[name] = b;
  }
  return out;
}

struct Measured {
  double rel_rmse_gauss = 0;  // sqrt(sum (y-x)^2 / sum x^2) over the two plain gaussian rows
  double rel_rmse_all = 0;    // the same over all 16 rows (dominated by the large-value rows)
  double max_abs = 0;         // largest |y - x| anywhere (shows saturation near the f16 max)
};

constexpr int kGaussianRows[] = {0, 1};

// The golden rows span 1e-8 to 6.5e4, so one number cannot summarize a codec: the gaussian
// rows show typical quality, the pooled figure and max abs error show range limits.
Measured measure(const quantflow::CodecDescriptor& codec, const std::vector<float>& x, const std::vector<float>& w,
                 int64_t rows, int64_t cols) {
  // Row-scaled codecs append each row's scale to the row's blocks.
  const int64_t tail = codec.row_scale ? codec.row_scale->scale_bytes_per_row : 0;
  std::vector<std::byte> q(static_cast<size_t>(rows * (cols / codec.block_elems * codec.block_bytes + tail)));
  const float* weights = (codec.flags & QF_CODEC_IMATRIX_REQUIRED) ? w.data() : nullptr;
  BOOST_REQUIRE_EQUAL(codec.encode(x.data(), q.data(), rows, cols, weights), QF_CODEC_OK);
  std::vector<float> y(x.size());
  BOOST_REQUIRE_EQUAL(codec.decode(q.data(), y.data(), rows, cols), QF_CODEC_OK);
  double err2 = 0, sig2 = 0, gerr2 = 0, gsig2 = 0;
  Measured m;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(y[i]) - static_cast<double>(x[i]);
    if (!std::isfinite(d)) {
      m.max_abs = INFINITY;
      continue;
    }
    const double e = d * d, s = static_cast<double>(x[i]) * static_cast<double>(x[i]);
    err2 += e;
    sig2 += s;
    const int64_t row = static_cast<int64_t>(i) / cols;
    if (std::find(std::begin(kGaussianRows), std::end(kGaussianRows), row) != std::end(kGaussianRows)) {
      gerr2 += e;
      gsig2 += s;
    }
    m.max_abs = std::max(m.max_abs, std::fabs(d));
  }
  m.rel_rmse_all = sig2 > 0 ? std::sqrt(err2 / sig2) : 0;
  m.rel_rmse_gauss = gsig2 > 0 ? std::sqrt(gerr2 / gsig2) : 0;
  return m;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_codec_stays_within_its_documented_error) {
  const auto x = qf_test::read_floats(qf_test::golden_dir() / "input.f32");
  const auto w = qf_test::read_floats(qf_test::golden_dir() / "imatrix.f32");
  const auto table = bounds();
  size_t checked = 0;
  for (const auto* codec : qf_test::plugins().codecs()) {
    if (!codec->encode || !codec->decode) continue;
    const int64_t cols = 512;
    if (cols % codec->block_elems != 0) continue;
    const Measured m = measure(*codec, x, w, 16, cols);
    BOOST_TEST_MESSAGE(codec->name << "\t" << m.rel_rmse_gauss << "\t" << m.rel_rmse_all << "\t" << m.max_abs);
    auto it = table.find(codec->name);
    if (it == table.end()) {
      BOOST_ERROR(codec->name << " has no entry in tests/data/codec_error_bounds.tsv (measured " << m.rel_rmse_gauss
                              << " " << m.rel_rmse_all << " " << m.max_abs << ")");
      continue;
    }
    BOOST_CHECK_MESSAGE(m.rel_rmse_gauss <= it->second.rel_rmse_gauss,
                        codec->name << ": relative RMSE on gaussian rows " << m.rel_rmse_gauss << " exceeds "
                                    << it->second.rel_rmse_gauss);
    BOOST_CHECK_MESSAGE(m.rel_rmse_all <= it->second.rel_rmse_all,
                        codec->name << ": relative RMSE " << m.rel_rmse_all << " exceeds " << it->second.rel_rmse_all);
    BOOST_CHECK_MESSAGE(m.max_abs <= it->second.max_abs,
                        codec->name << ": max abs error " << m.max_abs << " exceeds " << it->second.max_abs);
    ++checked;
  }
  BOOST_CHECK_GE(checked, 27u);
}
