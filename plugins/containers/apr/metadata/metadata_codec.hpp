// APR's JSON metadata <-> quantflow's typed Metadata.
//
// Reading: the typed fields go where metadata_fields.hpp says (null means absent); every
// other ("custom") key keeps its name, its value taking a default type (string, bool, u64, i64
// when negative, f64, arrays of one such type). A custom value a MetaValue cannot hold (null,
// an object, a mixed array) becomes the string of its compact JSON under "apr.json.<key>".
//
// Writing: the fields in §5's order (license, data_source and data_license as null when
// absent; model_type, total_size and param_count always), then custom keys in byte order,
// compact. When reading that text back would not give the same Metadata (types other than
// the defaults, such as GGUF's u32 or f32 values, or another key order), the writer adds the
// custom key "quantflow.metadata": [[key, type], ...] listing every key in order with its
// type ("u32", {"elem": "f32"} for arrays, "json" for apr.json.* keys), and the reader
// restores exactly that. Floats that are not finite are written as "nan", "inf", "-inf".
#pragma once

#include <string>
#include <string_view>

#include "quantflow/metadata.hpp"
#include "quantflow/status.hpp"

namespace quantflow::apr {

inline constexpr std::string_view kSidecarKey = "quantflow.metadata";
inline constexpr std::string_view kJsonKeyPrefix = "apr.json.";

// Errors name the field or key.
Result<Metadata> decode_metadata(std::string_view text);
Result<std::string> encode_metadata(const Metadata& metadata);

}  // namespace quantflow::apr
