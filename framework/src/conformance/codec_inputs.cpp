#include "conformance/codec_inputs.hpp"

#include <cmath>
#include <limits>

namespace quantflow::conformance {

namespace {

constexpr int64_t kPreferredRowLength = 256;
constexpr float kRowScales[] = {1.0f, 10.0f, 0.01f, 100.0f, 0.5f, 3.0f, 0.001f, 7.0f};
// Within every encoding's range: f8_e4m3 ends at 448.
constexpr float kConstants[] = {1.0f, -2.5f, 0.125f, 100.0f, -0.01f, 42.0f, 7.5e-3f, -3.0f};

float row_scale(int64_t r) { return kRowScales[r % std::size(kRowScales)]; }

float ramp_value(int64_t i, int64_t n) {
  return n == 1 ? 1.0f : -1.0f + 2.0f * static_cast<float>(i) / static_cast<float>(n - 1);
}

// A small, fixed generator: the same rows on every platform and standard library
// (std::normal_distribution's algorithm is implementation-defined).
class Gaussian {
 public:
  explicit Gaussian(uint64_t seed) : state_(seed) {}
  float next() {
    const double u1 = (static_cast<double>(bits() >> 11) + 1.0) * 0x1p-53;
    const double u2 = static_cast<double>(bits() >> 11) * 0x1p-53;
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

 private:
  uint64_t bits() {  // splitmix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

}  // namespace

int64_t standard_row_length(const CodecDescriptor& codec) {
  const int64_t block = codec.block_elems;
  return (kPreferredRowLength + block - 1) / block * block;
}

std::vector<float> zero_rows(int64_t n_rows, int64_t n_per_row) {
  return std::vector<float>(static_cast<size_t>(n_rows * n_per_row), 0.0f);
}

std::vector<float> constant_rows(int64_t n_rows, int64_t n_per_row) {
  std::vector<float> out;
  for (int64_t r = 0; r < n_rows; ++r)
    out.insert(out.end(), static_cast<size_t>(n_per_row), kConstants[r % std::size(kConstants)]);
  return out;
}

std::vector<float> ramp_rows(int64_t n_rows, int64_t n_per_row) {
  std::vector<float> out;
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t i = 0; i < n_per_row; ++i) out.push_back(ramp_value(i, n_per_row) * row_scale(r));
  return out;
}

std::vector<float> random_rows(int64_t n_rows, int64_t n_per_row) {
  Gaussian gaussian(0x5eed);
  std::vector<float> out;
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t i = 0; i < n_per_row; ++i) out.push_back(gaussian.next() * row_scale(r));
  return out;
}

std::vector<float> extreme_row(int64_t n_per_row, float magnitude) {
  std::vector<float> out;
  for (int64_t i = 0; i < n_per_row; ++i) {
    const float sign = i % 2 == 0 ? 1.0f : -1.0f;
    out.push_back(sign * magnitude * std::fabs(ramp_value(i, n_per_row)));
  }
  out[0] = magnitude;
  if (n_per_row > 1) out[1] = -magnitude;
  return out;
}

std::vector<float> subnormal_row(int64_t n_per_row) {
  constexpr float kSmallest = std::numeric_limits<float>::denorm_min();
  constexpr float kLargestSubnormal = std::numeric_limits<float>::min() - kSmallest;
  std::vector<float> out;
  for (int64_t i = 0; i < n_per_row; ++i) {
    const float sign = i % 2 == 0 ? 1.0f : -1.0f;
    switch (i % 4) {
      case 0:
        out.push_back(sign * kLargestSubnormal);
        break;
      case 1:
        out.push_back(sign * kSmallest);
        break;
      case 2:
        out.push_back(0.0f);
        break;
      default:
        out.push_back(sign * kLargestSubnormal * std::fabs(ramp_value(i, n_per_row)));
    }
  }
  return out;
}

std::vector<float> non_finite_row(int64_t n_per_row, float value, int64_t position) {
  std::vector<float> out = ramp_rows(1, n_per_row);
  out[static_cast<size_t>(position)] = value;
  return out;
}

std::vector<float> standard_imatrix(int64_t n_per_row) {
  std::vector<float> out;
  for (int64_t i = 0; i < n_per_row; ++i) out.push_back(0.5f + static_cast<float>(i % 7) * 0.25f);
  return out;
}

}  // namespace quantflow::conformance
