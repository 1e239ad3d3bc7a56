// A codec is one static, C-layout record, the pluggable form of a row of ggml's type
// traits: name, per-container ids, block geometry, encode and decode.
#pragma once

#include <cstdint>
#include <string_view>

#include "quantflow/dtype.hpp"

extern "C" {

// Codec entry points return one of these; the core turns them into user-facing messages
// that name the file and tensor.
enum QfCodecResult : int32_t {
  QF_CODEC_OK = 0,
  QF_CODEC_NEEDS_IMATRIX = 1,   // the encoding is defined only with an importance matrix
  QF_CODEC_NON_FINITE = 2,      // the input holds NaN or infinity and the encoding cannot carry it
  QF_CODEC_BAD_ROW_LENGTH = 3,  // n_per_row is not a multiple of block_elems
  QF_CODEC_UNSUPPORTED = 4,     // this direction is not implemented (e.g. decode-only types)
  // A transcoder's (quantflow/transcoder.hpp): the source values cannot be represented exactly
  // in the target encoding. The host decodes and encodes the tensor instead; never an error.
  QF_CODEC_INEXACT = 5,
};

// Encodes n_rows rows of n_per_row floats into n_rows * (n_per_row / block_elems) blocks.
// imatrix is null or holds n_per_row importance weights, one per column, for every row.
// Must be safe to call concurrently on disjoint rows and must depend on nothing but its
// arguments (output bytes are identical at any thread count).
typedef int32_t (*qf_encode_fn)(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix);
// Decodes n_rows rows back into floats.
typedef int32_t (*qf_decode_fn)(const void* src, float* dst, int64_t n_rows, int64_t n_per_row);

// How a container names this encoding, e.g. {"gguf", "12"}, {"gguf.file_type", "15"},
// {"safetensors", "F16"}. Containers look up the keys they own.
struct QfContainerId {
  const char* container;
  const char* id;
};

// What an encoding's elements are, for QfCodecDescriptor::kind. The values are those of
// quantflow::DTypeKind (checked below), so the host converts with a plain cast.
enum QfCodecKind : uint32_t {
  QF_KIND_FLOATING = 0,   // plain IEEE-like elements: f32, f16, bf16, f8_e4m3, ...
  QF_KIND_INTEGER = 1,    // plain integers
  QF_KIND_QUANTIZED = 2,  // blocks of codes with scales: q4_0, q4_k, iq2_xs, ...
};

enum QfCodecFlags : uint32_t {
  QF_CODEC_IMATRIX_REQUIRED = 1u << 0,  // encode refuses to run without an importance matrix
  QF_CODEC_IMATRIX_USED = 1u << 1,      // an importance matrix changes the output when given
  // Blocks run over the flattened tensor (crossing rows, the last one partial) after
  // `tensor_prefix_bytes` of tensor-wide fields. The host calls encode and decode with one row
  // holding the whole tensor; each of several rows is an independent unit of
  // DType::bytes_for(n_per_row) bytes. Any row length is valid. See DType::whole_tensor.
  QF_CODEC_WHOLE_TENSOR = 1u << 2,
};

// Row-scaled encodings (INT8 per channel and the like) keep one scale per row outside the
// values. Their encode writes, per row, the row's block bytes followed by
// `scale_bytes_per_row` bytes of scale, and decode reads the same layout; containers store
// the two parts as separate, properly typed tensors: NAME as `values_dtype` with the
// original shape, and NAME + `scale_suffix` as `scale_dtype` with the row shape.
struct QfRowScale {
  uint32_t scale_bytes_per_row;
  const char* values_dtype;  // a plain dtype name, e.g. "i8"
  const char* scale_dtype;   // a plain dtype name, e.g. "f32"
  const char* scale_suffix;  // appended to the tensor name, e.g. "_scale"
};

// Written with designated initialisers; the fields with defaults may be left out.
struct QfCodecDescriptor {
  const char* name;         // canonical lower-case name: "q4_k"
  const char* description;  // one line for `quantflow plugins`
  uint32_t block_elems;
  uint32_t block_bytes;
  uint32_t kind;       // QfCodecKind
  uint32_t flags = 0;  // QfCodecFlags
  const QfContainerId* container_ids = nullptr;
  uint32_t n_container_ids = 0;           // std::size(container_ids), never counted by hand
  qf_encode_fn encode = nullptr;          // null when the type is decode-only
  qf_decode_fn decode = nullptr;          // null when the type is encode-only
  const QfRowScale* row_scale = nullptr;  // null for block codecs (the usual case)
  uint32_t tensor_prefix_bytes = 0;       // QF_CODEC_WHOLE_TENSOR only: bytes before the first block
};

}  // extern "C"

namespace quantflow {

using CodecDescriptor = QfCodecDescriptor;

static_assert(QF_KIND_FLOATING == static_cast<uint32_t>(DTypeKind::floating));
static_assert(QF_KIND_INTEGER == static_cast<uint32_t>(DTypeKind::integer));
static_assert(QF_KIND_QUANTIZED == static_cast<uint32_t>(DTypeKind::quantized));

inline DType dtype_of(const CodecDescriptor& codec) {
  return DType{.name = codec.name,
               .block_elems = codec.block_elems,
               .block_bytes = codec.block_bytes,
               .kind = static_cast<DTypeKind>(codec.kind),
               .whole_tensor = (codec.flags & QF_CODEC_WHOLE_TENSOR) != 0,
               .prefix_bytes = codec.tensor_prefix_bytes};
}

// The codec's id in `container`, or an empty view when it has none there.
inline std::string_view container_id(const CodecDescriptor& codec, std::string_view container) {
  for (uint32_t i = 0; i < codec.n_container_ids; ++i)
    if (container == codec.container_ids[i].container) return codec.container_ids[i].id;
  return {};
}

inline const char* codec_result_message(int32_t result) {
  switch (result) {
    case QF_CODEC_OK:
      return "ok";
    case QF_CODEC_NEEDS_IMATRIX:
      return "this encoding needs an importance matrix (--imatrix)";
    case QF_CODEC_NON_FINITE:
      return "the values contain NaN or infinity, which this encoding cannot represent";
    case QF_CODEC_BAD_ROW_LENGTH:
      return "the row length is not a multiple of the block size";
    case QF_CODEC_UNSUPPORTED:
      return "this direction is not implemented by the codec";
    case QF_CODEC_INEXACT:
      return "the source values cannot be represented exactly in the target encoding";
  }
  return "the codec failed with an unknown code";
}

}  // namespace quantflow
