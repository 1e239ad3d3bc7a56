// Shard file names: aprender's patterns ("model-{:05d}-of-{:05d}.apr", Rust format
// placeholders for the 1-based shard number and the count) and names to find shards by.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace quantflow::apr {

// The pattern with its two placeholders ("{}" or "{:0Nd}") filled in; nullopt when it has
// another number of placeholders, other braces, or the result is not a plain file name.
std::optional<std::string> format_pattern(const std::string& pattern, uint64_t number, uint64_t count);

// Whether `name` is a file name without directories ("a.apr", not "../a.apr" or "d/a.apr").
bool is_plain_file_name(const std::string& name);

}  // namespace quantflow::apr
