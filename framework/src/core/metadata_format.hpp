// Shows metadata values to people (text) and programs (JSON), summarizing long arrays.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "quantflow/metadata.hpp"

namespace quantflow::core {

// Arrays longer than `max_elements` show their first elements and the total count.
std::string format_meta_value(const MetaValue& value, size_t max_elements = 8);
nlohmann::json meta_value_to_json(const MetaValue& value, size_t max_elements = 8);
// "u32", "string", "array<string>", "array<array<u8>>"...
std::string meta_type_label(const MetaValue& value);

}  // namespace quantflow::core
