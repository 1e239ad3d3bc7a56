// A transcoder re-packs one quantized encoding into another without a float detour: it
// reads the source codec's blocks and writes the target codec's blocks whose decoded values
// are the source's decoded values, bit for bit. Where the target cannot hold a tensor's
// values exactly, it says so (QF_CODEC_INEXACT) and the host decodes and encodes that tensor
// instead. See docs/plugins.md, "A transcoder".
#pragma once

#include <cstdint>

#include "quantflow/codec.hpp"

extern "C" {

// Converts n_rows rows of n_per_row elements stored in the `from` codec's blocks (src) into
// the `to` codec's blocks (dst, n_rows * (n_per_row / to.block_elems) blocks). Returns
// QF_CODEC_OK, QF_CODEC_INEXACT (dst holds nothing meaningful) or QF_CODEC_BAD_ROW_LENGTH.
// Must be safe to call concurrently on disjoint rows and depend on nothing but its arguments.
typedef int32_t (*qf_transcode_fn)(const void* src, void* dst, int64_t n_rows, int64_t n_per_row);

enum QfTranscoderFlags : uint32_t {
  QF_TRANSCODE_ALWAYS_EXACT = 1u << 0,  // never returns QF_CODEC_INEXACT: every source block has an exact image
};

// Written with designated initialisers; `flags` may be left out.
struct QfTranscoderDescriptor {
  const char* from;         // source codec name
  const char* to;           // target codec name
  const char* description;  // one line
  qf_transcode_fn transcode;
  uint32_t flags = 0;  // QF_TRANSCODE_ALWAYS_EXACT: never returns QF_CODEC_INEXACT
};

}  // extern "C"

namespace quantflow {

using TranscoderDescriptor = QfTranscoderDescriptor;

inline bool always_exact(const TranscoderDescriptor& t) { return (t.flags & QF_TRANSCODE_ALWAYS_EXACT) != 0; }

}  // namespace quantflow
