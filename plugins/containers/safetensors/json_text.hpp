// Byte-level JSON text helpers shared by the header parser and the writer.
#pragma once

#include "quantflow/utf8.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace quantflow::safetensors {

using quantflow::invalid_utf8_offset;

// Appends `text` as a JSON string literal escaped the way serde_json does, so our headers
// match the reference writer byte for byte: `"` and `\` escaped, \b \f \n \r \t short
// forms, other control characters as \u00xx, everything else (including `/`, DEL and
// non-ASCII) raw. `text` must be valid UTF-8.
void append_json_string(std::string& out, std::string_view text);

// nlohmann's exception text without its "[json.exception.parse_error.101] " prefix.
std::string json_error_text(const char* what);

}  // namespace quantflow::safetensors
