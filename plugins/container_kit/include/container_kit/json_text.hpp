// JSON text as the reference writers of safetensors and APR (serde_json) produce it, so that our
// headers and metadata match theirs byte for byte.
#pragma once

#include <string>
#include <string_view>

namespace quantflow::container_kit {

// Appends `text` (valid UTF-8) as a JSON string literal: `"` and `\` escaped, \b \f \n \r \t in
// their short forms, other control characters as \u00xx, everything else (including `/`, DEL
// and non-ASCII) raw.
void append_json_string(std::string& out, std::string_view text);

// nlohmann's exception text without its "[json.exception.parse_error.101] " prefix.
std::string json_error_text(const char* what);

}  // namespace quantflow::container_kit
