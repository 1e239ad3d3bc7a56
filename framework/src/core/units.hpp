// Human-readable sizes in and out: "512M", "4GiB", "1.5G" <-> bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "quantflow/status.hpp"

namespace quantflow::core {

// Accepts a number with an optional K/M/G/T suffix (powers of 1024; "B", "iB" allowed).
Result<uint64_t> parse_size(std::string_view text);

// 1536 -> "1.50 KiB"; below 1 KiB plain bytes.
std::string format_size(uint64_t bytes);

}  // namespace quantflow::core
