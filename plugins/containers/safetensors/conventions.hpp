// quantflow conventions for safetensors files
// ===========================================
//
// safetensors carries only a string -> string `__metadata__` map and plain element types.
// quantflow stores what does not fit in reserved `__metadata__` keys, so that any model
// (e.g. a GGUF with typed metadata and block-quantized tensors) survives a round trip
// through safetensors without loss. Files that use none of this are plain safetensors,
// and tools that do not know the conventions still read every tensor's bytes.
//
// 1. Plain metadata. Every `__metadata__` entry becomes a string value in Metadata. The
//    reader presents them in byte order of the keys (the reference writer's map order is
//    random, so the file order carries no information); the writer also sorts by byte order.
//
// 2. Typed metadata: key `quantflow.metadata`. Written when the Metadata holds any
//    non-string value, or when its keys are not in byte order (so that the order is kept
//    too). The value is a compact JSON array, in Metadata order, of one entry per key:
//      [key, type, value]   for non-string values
//      [key, "string"]      for strings: the text itself is the plain `__metadata__` entry
//                           under the same key, so non-quantflow tools still see it
//    `type` is a name from meta_type_name(): u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool
//    string array. Values:
//      integers  JSON integers, exact over the whole range (u64 above 2^53 included);
//                signed types may be negative
//      bool      true / false
//      f32, f64  JSON numbers printed so that parsing gives back the same double (an f32
//                is widened to double first, which is exact); NaN and infinities as the
//                strings "nan", "inf", "-inf" (a NaN's payload bits are not kept)
//      string    (inside arrays only) a JSON string
//      array     {"elem": type, "items": [...]}, items written by these same rules,
//                recursively (an array of arrays has objects as items); an empty array
//                keeps its element type
//    The reader rebuilds Metadata in the listed order, then appends the plain
//    `__metadata__` keys not listed (as strings, in byte order). Strings must be valid
//    UTF-8 (a JSON header cannot carry anything else); the writer refuses other text.
//
// 3. Tensors without a safetensors dtype (a quantized DType kind, or any dtype whose name
//    and block geometry are not one of the safetensors dtypes): stored as dtype "U8" with
//    shape [n_bytes], the raw bytes unchanged, plus `__metadata__` key
//    `quantflow.tensor.<tensor name>` whose value is compact JSON
//      {"dtype":"q4_k","shape":[768,256],"block_elems":256,"block_bytes":144}
//    (shape outermost first, as everywhere in quantflow). The reader reports such a
//    tensor with that dtype and shape; its kind comes from a loaded codec of that name,
//    else from the safetensors dtype table, else it is "quantized".
//
// 4. Tensor order: key `quantflow.tensor_order`. safetensors lays tensors out sorted by
//    dtype and name; when the order the writer was given differs (e.g. a GGUF's), the
//    writer records it as a compact JSON array of the tensor names, and the reader lists
//    tensors in that order. Together with 2 and 3 this makes GGUF -> safetensors -> GGUF
//    reproduce the original GGUF byte for byte.
//
// 5. Reserved keys: `quantflow.metadata`, `quantflow.tensor_order` and every key starting
//    with `quantflow.tensor.` belong to these conventions; the reader consumes them (they
//    never appear in Metadata) and the writer refuses Metadata that contains them.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "quantflow/metadata.hpp"
#include "quantflow/status.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow::safetensors {

inline constexpr std::string_view kTypedMetadataKey = "quantflow.metadata";
inline constexpr std::string_view kTensorKeyPrefix = "quantflow.tensor.";
inline constexpr std::string_view kTensorOrderKey = "quantflow.tensor_order";

inline bool is_reserved_key(std::string_view key) {
  return key == kTypedMetadataKey || key == kTensorOrderKey ||
         key.substr(0, kTensorKeyPrefix.size()) == kTensorKeyPrefix;
}

// The `quantflow.tensor_order` value for these names, in this order.
std::string encode_tensor_order(const std::vector<std::string>& names);
// Parses it back; fails unless it is a JSON array of strings.
Result<std::vector<std::string>> decode_tensor_order(const std::string& value);

// True when plain string entries cannot represent `metadata` (non-string values, or keys
// out of byte order).
bool needs_typed_metadata(const Metadata& metadata);

// The `quantflow.metadata` value for `metadata`.
Result<std::string> encode_typed_metadata(const Metadata& metadata);

// Rebuilds Metadata from the `quantflow.metadata` value (null when absent) and the plain
// `__metadata__` entries other than reserved keys.
Result<Metadata> decode_metadata(const std::string* typed, const std::map<std::string, std::string>& plain);

struct LogicalTensor {
  DType dtype;  // kind not filled in: the caller decides it
  Shape shape;
};

// The `quantflow.tensor.<name>` value for a tensor stored as raw bytes.
std::string encode_tensor_info(const TensorInfo& tensor);

// Parses a `quantflow.tensor.<name>` value and checks it describes exactly n_bytes.
Result<LogicalTensor> decode_tensor_info(std::string_view json, uint64_t n_bytes);

}  // namespace quantflow::safetensors
