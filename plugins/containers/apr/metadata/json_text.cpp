#include "metadata/json_text.hpp"

#include <charconv>
#include <cmath>

namespace quantflow::apr {

namespace {

// value = 0.DIGITS x 10^kk, no trailing zeros in DIGITS.
struct Decimal {
  bool negative = false;
  std::string digits;
  int kk = 0;
};

template <typename F>
Decimal shortest(F value) {
  char buf[64];
  // Shortest round-trip digits in scientific form: "d.ddde-XX" or "de+XX".
  const auto result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  const std::string_view text(buf, static_cast<size_t>(result.ptr - buf));
  Decimal d;
  size_t i = 0;
  if (text[i] == '-') {
    d.negative = true;
    ++i;
  }
  for (; i < text.size() && text[i] != 'e'; ++i)
    if (text[i] != '.') d.digits += text[i];
  int exponent = 0;
  std::from_chars(text.data() + i + 1 + (text[i + 1] == '+' ? 1 : 0), text.data() + text.size(), exponent);
  while (d.digits.size() > 1 && d.digits.back() == '0') d.digits.pop_back();
  d.kk = exponent + 1;
  return d;
}

// ryu's "pretty" layout between decimal and scientific notation.
std::string layout(const Decimal& d, int max_kk, int min_kk_exclusive) {
  std::string out = d.negative ? "-" : "";
  if (d.digits == "0") return out + "0.0";
  const int length = static_cast<int>(d.digits.size());
  const int kk = d.kk;
  if (kk >= length && kk <= max_kk) {  // 1234e7 -> 12340000000.0
    out += d.digits + std::string(static_cast<size_t>(kk - length), '0') + ".0";
  } else if (kk > 0 && kk <= max_kk) {  // 1234e-2 -> 12.34
    out += d.digits.substr(0, static_cast<size_t>(kk)) + "." + d.digits.substr(static_cast<size_t>(kk));
  } else if (kk > min_kk_exclusive && kk <= 0) {  // 1234e-6 -> 0.001234
    out += "0." + std::string(static_cast<size_t>(-kk), '0') + d.digits;
  } else {  // 1e30, 1.234e33
    out += d.digits.substr(0, 1);
    if (length > 1) out += "." + d.digits.substr(1);
    out += "e" + std::to_string(kk - 1);
  }
  return out;
}

constexpr int kF32MaxKk = 13, kF32MinKk = -6, kF64MaxKk = 16, kF64MinKk = -5;

}  // namespace

std::string format_f32(float value) { return layout(shortest(value), kF32MaxKk, kF32MinKk); }
std::string format_f64(double value) { return layout(shortest(value), kF64MaxKk, kF64MinKk); }
std::string format_f32_as_f64(float value) { return layout(shortest(value), kF64MaxKk, kF64MinKk); }

float f32_from_json(double value) {
  const auto nearest = static_cast<float>(value);
  if (!std::isfinite(nearest)) return nearest;
  for (const float candidate : {nearest, std::nextafter(nearest, INFINITY), std::nextafter(nearest, -INFINITY)}) {
    const std::string text = format_f32(candidate);
    double parsed = 0;  // from_chars: the C locale's decimal point whatever the process locale
    std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (parsed == value) return candidate;
  }
  return nearest;
}

bool append_json(std::string& out, const nlohmann::ordered_json& value, int max_depth) {
  using value_t = nlohmann::ordered_json::value_t;
  switch (value.type()) {
    case value_t::object: {
      if (max_depth == 0) return false;
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.items()) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, key);
        out += ':';
        if (!append_json(out, item, max_depth - 1)) return false;
      }
      out += '}';
      return true;
    }
    case value_t::array: {
      if (max_depth == 0) return false;
      out += '[';
      for (size_t i = 0; i < value.size(); ++i) {
        if (i) out += ',';
        if (!append_json(out, value[i], max_depth - 1)) return false;
      }
      out += ']';
      return true;
    }
    case value_t::string:
      append_json_string(out, value.get_ref<const std::string&>());
      return true;
    case value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return true;
    case value_t::number_integer:
      out += std::to_string(value.get<int64_t>());
      return true;
    case value_t::number_unsigned:
      out += std::to_string(value.get<uint64_t>());
      return true;
    case value_t::number_float: {
      const double d = value.get<double>();
      out += std::isfinite(d) ? format_f64(d) : "null";
      return true;
    }
    default:
      out += "null";
      return true;
  }
}

}  // namespace quantflow::apr
