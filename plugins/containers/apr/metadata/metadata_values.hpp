// One metadata value between JSON and quantflow's typed MetaValue: the typed fields' values,
// custom values with their default types, the type descriptors of quantflow's sidecar key
// (metadata_codec.hpp) and the exact conversion it asks for.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "metadata/metadata_fields.hpp"
#include "quantflow/metadata.hpp"
#include "quantflow/status.hpp"

namespace quantflow::apr {

using Json = nlohmann::ordered_json;

// Bounds recursion on hostile input; GGUF metadata nests arrays one or two levels.
inline constexpr int kMaxDepth = 32;

// A typed field's value with its default type: string, u64, u32 (u64 when it does not fit),
// f32, bool. Refused with a message naming `what` when the JSON has another type.
Result<MetaValue> decode_field(const Json& node, FieldKind kind, const std::string& what);
// Appends a value for which fits_kind() holds.
void append_field(std::string& out, const MetaValue& value, FieldKind kind);

// A custom value with its default type: string, bool, u64 (i64 if negative), f64, and arrays
// whose elements all take one such type (arrays of arrays too). nullopt for what a MetaValue
// cannot hold: null, objects, mixed arrays.
std::optional<MetaValue> infer_value(const Json& node, int depth = 0);

// Appends any MetaValue: integers exact, floats shortest (f32 digits for f32), NaN and
// infinities as "nan", "inf", "-inf", arrays recursively. Strings must be UTF-8.
Status append_value(std::string& out, const MetaValue& value, const std::string& key, int depth = 0);

// The sidecar's type descriptor of a value: its type name ("u32", "string", ...), for arrays
// {"elem": name} and, for arrays of arrays, {"elem": "array", "items": [descriptor, ...]}.
Json type_descriptor(const MetaValue& value);

// The JSON value converted to the type `descriptor` names, exactly (range-checked integers,
// f32 restored bit for bit, "nan"/"inf"/"-inf" for non-finite floats).
Result<MetaValue> decode_typed(const Json& node, const Json& descriptor, int depth = 0);

// "a string", "an integer", ... and a short rendering of `node`, for messages.
std::string describe(const Json& node);

}  // namespace quantflow::apr
