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
#include <stdexcept>
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

// A stored scalar inside a block, "TYPE@OFFSET" (bytes from the block start). Each type is
// decoded here from its definition; a float type also names the format it was rounded to.
enum class FieldType { f16, bf16, f32, e4m3, e8m0, u16 };

struct FieldTypeInfo {
  const char* name;
  FieldType type;
  FloatFormat format;  // unused for u16 and e8m0 (a power of two, rounded in log2)
};

inline const FieldTypeInfo kFieldTypes[] = {
    {"f16", FieldType::f16, {10, -14, 65504}},
    {"bf16", FieldType::bf16, {7, -126, 3.3895313892515355e38}},
    {"f32", FieldType::f32, {23, -126, 3.4028234663852886e38}},
    {"e4m3", FieldType::e4m3, {3, -6, 448}},  // OCP E4M3FN
    {"e8m0", FieldType::e8m0, {}},            // 2^(byte - 127), 255 = NaN
    {"u16", FieldType::u16, {}},              // an unsigned integer
};

struct Field {
  const FieldTypeInfo* info = nullptr;
  size_t offset = 0;
  bool present = false;
};

inline Field field(const Params& p, const std::string& key) {
  Field f;
  auto it = p.find(key);
  if (it == p.end()) return f;
  const auto at = it->second.find('@');
  for (const auto& t : kFieldTypes)
    if (it->second.substr(0, at) == t.name) f.info = &t;
  if (f.info == nullptr) throw std::invalid_argument("unknown field type in " + it->second);
  f.offset = std::stoul(it->second.substr(at + 1));
  f.present = true;
  return f;
}

inline uint32_t little_endian(const uint8_t* at, int bytes) {
  uint32_t v = 0;
  for (int k = bytes - 1; k >= 0; --k) v = v << 8 | at[k];
  return v;
}

inline double read_field(const uint8_t* block, const Field& f) {
  const uint8_t* at = block + f.offset;
  const auto as_float = [](uint32_t bits) {
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  };
  switch (f.info->type) {
    case FieldType::f16:
      return half_to_double(static_cast<uint16_t>(little_endian(at, 2)));
    case FieldType::bf16:  // the upper half of an f32
      return as_float(little_endian(at, 2) << 16);
    case FieldType::f32:
      return as_float(little_endian(at, 4));
    case FieldType::e4m3: {  // sign, 4 exponent bits (bias 7), 3 mantissa bits; S.1111.111 is NaN
      const int exponent = (at[0] >> 3) & 0xF, mantissa = at[0] & 7;
      const double sign = (at[0] & 0x80) ? -1.0 : 1.0;
      if (exponent == 15 && mantissa == 7) return std::nan("");
      return sign * (exponent == 0 ? std::ldexp(mantissa, -9) : std::ldexp(8 + mantissa, exponent - 10));
    }
    case FieldType::e8m0:
      return at[0] == 255 ? std::nan("") : std::ldexp(1.0, at[0] - 127);
    case FieldType::u16:
      return little_endian(at, 2);
  }
  return std::nan("");
}

// Largest error of rounding to nearest in the field's float format, from the value v either
// before or after rounding (rounding never leaves v's binade but for its top): half an ULP, at
// most 2^-(mant+1) |v|, and half the subnormal spacing near zero.
inline double rounding_error(const Field& f, double v) {
  const FloatFormat& format = f.info->format;
  return std::max(std::fabs(v) * std::ldexp(1.0, -format.mant - 1), std::ldexp(1.0, format.emin - format.mant - 1));
}

// Rounding error of a stored scale: the encoder rounds with its exact f32 scale and then
// stores the scale as f16 (half an ULP: 2^-11 relative, 2^-25 absolute among subnormals)
// or keeps it as f32 (2^-24); twice that is allowed.
inline double scale_error(const Field& f, double v) { return 2 * rounding_error(f, v); }

struct BlockBound {
  std::vector<double> per_element;  // the largest |decoded - source| the format admits
  std::string step_violation;       // non-empty when a stored scale is not one the format's rule allows
};

inline std::string violation(const char* what, double stored, const char* relation, double needed) {
  std::ostringstream msg;
  msg << "stored " << what << " " << stored << " " << relation << " the " << needed << " this block needs";
  return msg.str();
}

// value = d * k + m with integer k in [kmin, kmax] (m = 0 when the block has no minimum):
// rounding to the nearest k errs by at most d/2, plus whatever lies beyond the code range,
// plus the f16 rounding of d and m. The step itself must be no larger than the block needs
// (symmetric: amax / min(-kmin, kmax); with a minimum: (max - min) / (kmax - kmin)), or a
// codec could satisfy any bound by choosing a huge scale. Without a minimum, a block of zeros
// rounds to code 0 exactly whatever step it stores (apr_q4 stores 1). A format that decodes a
// step below `flush` as 0 (apr_q4's decoder) returns 0 for such blocks: the error is |x|.
//
// With a zero point (z=u16@OFFSET: value = d * (k - z), z stored in the block) the codes span
// [kmin - z, kmax - z] steps. GPTQ's quantizer widens the range to contain 0 and sets the step
// to (max(hi, 0) - min(lo, 0)) / (kmax - kmin), so the step may be neither larger nor smaller
// than that (beyond its rounding; smaller only when d's format cannot hold it): a smaller step
// would clip, which the per-element bound alone admits.
inline BlockBound linear_bound(const float* x, size_t n, const uint8_t* block, const Params& p) {
  const Field d_field = field(p, "d"), m_field = field(p, "m"), z_field = field(p, "z");
  const auto range = p.at("k");
  const double z = z_field.present ? read_field(block, z_field) : 0.0;
  const double kmin = std::stoi(range.substr(0, range.find(".."))) - z;
  const double kmax = std::stoi(range.substr(range.find("..") + 2)) - z;
  const double d = read_field(block, d_field), m = m_field.present ? read_field(block, m_field) : 0.0;
  const auto flush = p.find("flush");
  const bool flushed = flush != p.end() && !(std::fabs(d) >= std::stod(flush->second));
  const double slack = std::max(std::fabs(kmin), std::fabs(kmax)) * scale_error(d_field, d) +
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
  const double needed = z_field.present   ? (std::max(hi, 0.0) - std::min(lo, 0.0)) / (kmax - kmin)
                        : m_field.present ? (hi - lo) / (kmax - kmin)
                                          : amax / std::min(-kmin, kmax);
  const double smallest = std::min(needed - scale_error(d_field, needed), d_field.info->format.max);
  if (std::fabs(d) > needed + scale_error(d_field, needed))
    out.step_violation = violation("step", std::fabs(d), "exceeds", needed);
  else if (z_field.present && !(std::fabs(d) >= smallest))
    out.step_violation = violation("step", std::fabs(d), "falls short of", needed);
  return out;
}

// Grouped affine (MLX, mlx-quant.md 2): value = s * q + b, q in [0, 2^bits - 1] the element's
// code (q=uBITS@OFFSET: an LSB-first bit stream from byte OFFSET), s and b rounded to their
// field type only after the codes were chosen with their f32 values s', b'. MLX represents the
// larger-magnitude edge exactly (at q = 0, so s' may be negative) with s' = edge / rint(edge /
// s0), s0 = max((max - min) / n_bins, 1e-7): elements within the code range err by at most
// |s'| / 2, and since |edge| >= (max - min) / 2 the far edge lies at most one step past it.
// Storing s and b moves the grid point of code q by at most q * r(s) + r(b) (r: half an ULP of
// the field type); the bound allows that twice, plus r(s) for |s'| vs |s|, plus 2^-22 of the
// magnitudes for the f32 arithmetic. Half a step is allowed beyond the range (one step in
// all): a codec clipping more fails. Since rint moves edge / s0 >= n_bins / 2 by at most 1/2,
// |s'| <= s0 * n_bins / (n_bins - 1) = (max - min) / (n_bins - 1); for a near-constant group
// (s0 = 1e-7, edge / s0 >= 1/2 or q0 = 0 and |s'| = 1e-7) |s'| <= 1.5e-7.
inline BlockBound affine_bound(const float* x, size_t n, const uint8_t* block, const Params& p) {
  constexpr double kEps = 1e-7, kF32 = 0x1p-22;
  const Field s_field = field(p, "s"), b_field = field(p, "b");
  const auto codes = p.at("q");
  const size_t bits = std::stoul(codes.substr(1, codes.find('@') - 1));
  const size_t codes_at = std::stoul(codes.substr(codes.find('@') + 1));
  const int n_bins = (1 << bits) - 1;
  const double s = read_field(block, s_field), b = read_field(block, b_field);
  const double rs = rounding_error(s_field, s), rb = rounding_error(b_field, b);
  BlockBound out;
  out.per_element.resize(n);
  double lo = x[0], hi = x[0];
  for (size_t i = 0; i < n; ++i) {
    lo = std::min<double>(lo, x[i]);
    hi = std::max<double>(hi, x[i]);
    const size_t bit = i * bits, shift = bit % 8;
    const uint8_t* at = block + codes_at + bit / 8;
    const unsigned window = shift + bits > 8 ? at[0] | at[1] << 8 : at[0];
    const int q = static_cast<int>(window >> shift) & n_bins;
    const double t = s != 0 ? (x[i] - b) / s : 0;  // with s = 0, |s'| <= r(s) is all there is
    const double beyond = std::min(std::max({0.0, t - n_bins, -t}), 0.5);
    out.per_element[i] = std::fabs(s) * (0.5 + beyond) + rs + 2 * (q * rs + rb) +
                         kF32 * (std::fabs(x[i]) + std::fabs(b) + n_bins * std::fabs(s));
  }
  const double ceiling = std::max((hi - lo) / (n_bins - 1), 1.5 * kEps) * (1 + kF32);
  if (!(std::fabs(s) <= ceiling + rounding_error(s_field, ceiling)))
    out.step_violation = violation("scale", std::fabs(s), "exceeds", ceiling);
  return out;
}

// The scale a scaled-float block must store, given t = amax / max (the element format's):
// - e8m0 (mxfp4, mxfp8): 2^rint(log2 t), MLX's rounded exponent, so within a factor sqrt(2)
//   of t either way (and then |x / s| <= max * sqrt(2): the top elements clip);
// - e4m3 (nvfp4): t rounded to nearest E4M3FN, saturating at 448: within its float bound of t;
// - f16 (the seed formats): no larger than t plus its f16 rounding, or the smallest f16
//   subnormal, which an underflowing scale is raised to.
// t itself is an f32 quotient (2^-22 relative allowed).
inline std::string scale_rule_violation(const Field& f, double s, double t) {
  constexpr double kF32 = 0x1p-22;
  switch (f.info->type) {
    case FieldType::e8m0:
      return s <= t * std::sqrt(2.0) * (1 + kF32) && s >= t / std::sqrt(2.0) * (1 - kF32)
                 ? ""
                 : violation("scale", s, "is not within a factor sqrt(2) of", t);
    case FieldType::e4m3:
      return std::fabs(s - t) <= float_bound(t, f.info->format) + t * kF32
                 ? ""
                 : violation("scale", s, "is not the E4M3 rounding of", t);
    default: {
      const double needed = std::max(t + scale_error(f, t), std::ldexp(1.0, -24));
      return s > needed ? violation("scale", s, "exceeds", needed) : "";
    }
  }
}

// value = fp(code) * s with one scale s per block (s=TYPE@OFFSET): the float bound of x / s,
// times s, plus the rounding of x * (1 / s) in f32; s must follow scale_rule_violation's rule.
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
  if (amax > 0) out.step_violation = scale_rule_violation(s_field, s, amax / f.max);
  return out;
}

}  // namespace qf_bounds
