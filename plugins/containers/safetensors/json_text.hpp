// Byte-level JSON text helpers shared by the header parser and the writer: the container kit's
// serde-style string escaping, and the UTF-8 check from the SDK.
#pragma once

#include "container_kit/json_text.hpp"
#include "quantflow/utf8.hpp"

namespace quantflow::safetensors {

using container_kit::append_json_string;
using container_kit::json_error_text;
using quantflow::invalid_utf8_offset;

}  // namespace quantflow::safetensors
