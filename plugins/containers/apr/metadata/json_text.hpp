// JSON text exactly as aprender's serde_json writes it: strings escaped the serde way and
// floats in the shortest round-trip form with ryu's layout (f32 fields `1e-7`, `10000.0`,
// `0.1`; f64 the same with wider limits), so our metadata matches aprender's byte for byte.
#pragma once

#include <nlohmann/json.hpp>

#include "container_kit/json_text.hpp"

#include <string>
#include <string_view>

namespace quantflow::apr {

using container_kit::append_json_string;  // serde's string escaping
using container_kit::json_error_text;

// Finite values only. f32: decimal notation for exponents -6 < kk <= 13 (10^(kk-1) <= |v| <
// 10^kk), else scientific (`1e-7`, `1.5e20`); integers keep ".0". f64: -5 < kk <= 16.
std::string format_f32(float value);
std::string format_f64(double value);
// An f32 printed in f64 style: aprender keeps custom values as f64, and this is how its
// writer prints the f64 that the f32's shortest text parses to.
std::string format_f32_as_f64(float value);

// The f32 whose shortest text parses to `value` (the double a JSON parser produced); plain
// narrowing could round that double to a neighbour.
float f32_from_json(double value);

// Compact, serde-style text of a parsed value (floats as format_f64); false when it nests
// deeper than `max_depth`.
bool append_json(std::string& out, const nlohmann::ordered_json& value, int max_depth = 64);

}  // namespace quantflow::apr
