// Per-element error bounds that follow from an encoding's definition, computed from the
// stored block (its scale, minimum and code range), never from a measurement of the codec.
// tests/data/codec_error_bounds.tsv says which bound applies to which codec.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace qf_bounds {

// An IEEE binary16 value, decoded here from its definition rather than by the codecs' own
// conversion, so that the bounds do not trust the code they check.
inline double half_to_double(uint16_t h) {
  const int exponent = (h >> 10) & 0x1F;
  const int mantissa = h & 0x3FF;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) return mantissa == 0 ? sign * HUGE_VAL : std::nan("");
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

// "key=value,key=value" from the TSV's parameter column.
using Params = std::map<std::string, std::string>;

inline Params parse_params(const std::string& text) {
  Params out;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto eq = item.find('=');
    if (eq != std::string::npos) out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

// A binary floating-point target: `mant` stored mantissa bits, `emin` the exponent of the
// smallest normal, `max` the largest finite value.
struct FloatFormat {
  int mant = 0;
  int emin = 0;
  double max = 0;
};

inline FloatFormat float_format(const Params& p) {
  return {std::stoi(p.at("mant")), std::stoi(p.at("emin")), std::stod(p.at("max"))};
}

// Round to nearest: at most half a unit in the last place of the binade holding |v|
// (subnormals share the smallest normal binade's spacing). Beyond `max` a saturating
// format stores +-max, so the error is what lies beyond; a non-saturating one overflows
// to infinity, which no finite bound admits.
inline double float_bound(double v, const FloatFormat& f) {
  const double a = std::fabs(v);
  if (a > f.max) return a - f.max;
  const int e = a > 0 ? std::max(static_cast<int>(std::floor(std::log2(a))), f.emin) : f.emin;
  return std::ldexp(1.0, e - f.mant - 1);
}

// A stored scalar inside a block: "f16@OFFSET" or "f32@OFFSET" (bytes from the block start).
struct Field {
  bool f32 = false;
  size_t offset = 0;
  bool present = false;
};

inline Field field(const Params& p, const std::string& key) {
  Field f;
  auto it = p.find(key);
  if (it == p.end()) return f;
  const auto at = it->second.find('@');
  f.f32 = it->second.substr(0, at) == "f32";
  f.offset = std::stoul(it->second.substr(at + 1));
  f.present = true;
  return f;
}

inline double read_field(const uint8_t* block, const Field& f) {
  if (f.f32) {
    float v;
    std::memcpy(&v, block + f.offset, 4);
    return v;
  }
  uint16_t h;
  std::memcpy(&h, block + f.offset, 2);
  return half_to_double(h);
}

// Rounding error of a stored scale: the encoder rounds with its exact f32 scale and then
// stores the scale as f16 (half an ULP: 2^-11 relative, 2^-25 absolute among subnormals)
// or keeps it as f32 (2^-24); twice that is allowed.
inline double scale_error(const Field& f, double v) {
  return f.f32 ? std::fabs(v) * std::ldexp(1.0, -23)
               : std::max(std::fabs(v) * std::ldexp(1.0, -10), std::ldexp(1.0, -24));
}

struct BlockBound {
  std::vector<double> per_element;  // the largest |decoded - source| the format admits
  std::string step_violation;       // non-empty when a stored scale is larger than the format needs
};

// value = d * k + m with integer k in [kmin, kmax] (m = 0 when the block has no minimum):
// rounding to the nearest k errs by at most d/2, plus whatever lies beyond the code range,
// plus the f16 rounding of d and m. The step itself must be no larger than the block needs
// (symmetric: amax / min(-kmin, kmax); with a minimum: (max - min) / (kmax - kmin)), or a
// codec could satisfy any bound by choosing a huge scale. Without a minimum, a block of zeros
// rounds to code 0 exactly whatever step it stores (apr_q4 stores 1). A format that decodes a
// step below `flush` as 0 (apr_q4's decoder) returns 0 for such blocks: the error is |x|.
inline BlockBound linear_bound(const float* x, size_t n, const uint8_t* block, const Params& p) {
  const Field d_field = field(p, "d"), m_field = field(p, "m");
  const auto range = p.at("k");
  const int kmin = std::stoi(range.substr(0, range.find(".."))), kmax = std::stoi(range.substr(range.find("..") + 2));
  const double d = read_field(block, d_field), m = m_field.present ? read_field(block, m_field) : 0.0;
  const auto flush = p.find("flush");
  const bool flushed = flush != p.end() && !(std::fabs(d) >= std::stod(flush->second));
  const double slack = std::max(std::abs(kmin), std::abs(kmax)) * scale_error(d_field, d) +
                       (m_field.present ? scale_error(m_field, m) : 0);
  BlockBound out;
  out.per_element.resize(n);
  double lo = x[0], hi = x[0], amax = 0;
  for (size_t i = 0; i < n; ++i) {
    lo = std::min<double>(lo, x[i]);
    hi = std::max<double>(hi, x[i]);
    amax = std::max<double>(amax, std::fabs(x[i]));
    double beyond = 0;
    if (d != 0) {
      const double t = (x[i] - m) / d;
      beyond = std::max({0.0, t - kmax, kmin - t});
    }
    out.per_element[i] = d != 0 ? std::fabs(d) * (0.5 + beyond) + slack : std::fabs(x[i] - m) + slack;
    if (flushed) out.per_element[i] = std::fabs(x[i]);
  }
  if (!m_field.present && amax == 0) {
    out.per_element.assign(n, 0.0);
    return out;
  }
  const double needed = m_field.present ? (hi - lo) / (kmax - kmin) : amax / std::min(-kmin, kmax);
  if (std::fabs(d) > needed + scale_error(d_field, needed)) {
    std::ostringstream msg;
    msg << "stored step " << std::fabs(d) << " exceeds the " << needed << " this block needs";
    out.step_violation = msg.str();
  }
  return out;
}

// value = fp(code) * s with one f16 scale s per block: the float bound of x / s, times s,
// plus the rounding of x * (1 / s) in f32. s must be no larger than amax / max needs (or
// the smallest f16 subnormal, which an underflowing scale is raised to).
inline BlockBound scaled_float_bound(const float* x, size_t n, const uint8_t* block, const Params& p) {
  const FloatFormat f = float_format(p);
  const Field s_field = field(p, "s");
  const double s = read_field(block, s_field);
  BlockBound out;
  out.per_element.resize(n);
  double amax = 0;
  for (size_t i = 0; i < n; ++i) {
    amax = std::max<double>(amax, std::fabs(x[i]));
    out.per_element[i] =
        s != 0 ? s * float_bound(x[i] / s, f) + std::fabs(x[i]) * std::ldexp(1.0, -22) : std::fabs(x[i]);
  }
  const double needed = std::max(amax / f.max + scale_error(s_field, amax / f.max), std::ldexp(1.0, -24));
  if (amax > 0 && s > needed) {
    std::ostringstream msg;
    msg << "stored scale " << s << " exceeds the " << needed << " this block needs";
    out.step_violation = msg.str();
  }
  return out;
}

}  // namespace qf_bounds
