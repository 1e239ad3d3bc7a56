// The walk over rows and blocks that every block codec's entry points share. Blocks are laid
// out row after row with no padding, and the importance matrix holds one weight per column, so
// block ib of any row sees the same imatrix slice. Codecs name their block struct (see
// block_fields.hpp); the walkers step through the tensor sizeof(Block) bytes at a time.
#pragma once

#include <cstdint>
#include <type_traits>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/finite.hpp"
#include "quantflow/codec.hpp"

namespace quantflow::codec_kit {

inline bool splits_into_blocks(int64_t n_rows, int64_t n_per_row, int64_t block_elems) {
  return n_rows >= 0 && n_per_row >= 0 && n_per_row % block_elems == 0;
}

// Block structs hold only bytes (alignment 1), so any byte address holds one.
template <class Block>
Block* blocks_at(void* p) {
  static_assert(kIsBlockLayout<Block>, "a block struct holds only byte arrays and byte-array fields");
  return static_cast<Block*>(p);
}

template <class Block>
const Block* blocks_at(const void* p) {
  static_assert(kIsBlockLayout<Block>, "a block struct holds only byte arrays and byte-array fields");
  return static_cast<const Block*>(p);
}

// Calls `block` once per block in storage order, as block(x, y) when the codec has no weighted
// path, as block(x, qw, y) with qw the block's imatrix slice (null without an imatrix), or as
// block(x, qw, y, ib) with ib the block's index inside its row, for codecs whose search carries
// state from one block to the next and must restart it on every row. y is a Block&.
template <int64_t Elems, class Block, class Fn>
void for_each_block(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix, Fn&& block) {
  Block* out = blocks_at<Block>(dst);
  const int64_t nb = n_per_row / Elems;
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t ib = 0; ib < nb; ++ib) {
      const float* x = src + r * n_per_row + ib * Elems;
      Block& y = out[r * nb + ib];
      if constexpr (std::is_invocable_v<Fn&, const float*, Block&>) {
        block(x, y);
      } else if constexpr (std::is_invocable_v<Fn&, const float*, const float*, Block&>) {
        block(x, imatrix ? imatrix + ib * Elems : nullptr, y);
      } else {
        block(x, imatrix ? imatrix + ib * Elems : nullptr, y, ib);
      }
    }
  }
}

// Calls block(b, y) for each of the n_rows * n_per_row / Elems blocks, b a const Block&.
template <int64_t Elems, class Block, class Fn>
void for_each_decoded_block(const void* src, float* dst, int64_t n_rows, int64_t n_per_row, Fn&& block) {
  const Block* in = blocks_at<Block>(src);
  const int64_t n_blocks = n_rows * (n_per_row / Elems);
  for (int64_t ib = 0; ib < n_blocks; ++ib) block(in[ib], dst + ib * Elems);
}

// A complete encode entry point for codecs whose blocks cannot carry NaN or infinity.
template <int64_t Elems, class Block, class Fn>
int32_t encode_blocks(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix,
                      Fn&& block) {
  if (!splits_into_blocks(n_rows, n_per_row, Elems)) return QF_CODEC_BAD_ROW_LENGTH;
  if (!all_finite(src, n_rows * n_per_row)) return QF_CODEC_NON_FINITE;
  for_each_block<Elems, Block>(src, dst, n_rows, n_per_row, imatrix, block);
  return QF_CODEC_OK;
}

// For types with a reference search and an imatrix-weighted one (ggml's _ref and _impl): the
// weighted one runs whenever an imatrix is given.
template <int64_t Elems, class Block, class Ref, class Weighted>
int32_t encode_blocks(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix, Ref&& ref,
                      Weighted&& weighted) {
  return encode_blocks<Elems, Block>(src, dst, n_rows, n_per_row, imatrix,
                                     [&](const float* x, const float* qw, Block& y) {
                                       if (qw != nullptr) {
                                         weighted(x, qw, y);
                                       } else {
                                         ref(x, y);
                                       }
                                     });
}

template <int64_t Elems, class Block, class Fn>
int32_t decode_blocks(const void* src, float* dst, int64_t n_rows, int64_t n_per_row, Fn&& block) {
  if (!splits_into_blocks(n_rows, n_per_row, Elems)) return QF_CODEC_BAD_ROW_LENGTH;
  for_each_decoded_block<Elems, Block>(src, dst, n_rows, n_per_row, block);
  return QF_CODEC_OK;
}

// The IQ codecs' argument checks, which predate encode_blocks and keep their own result codes:
// only the row length is validated (a negative row count encodes nothing), finiteness only
// where asked, and the imatrix before it where the type is undefined without one.
struct IqChecks {
  bool imatrix_required;
  bool finite_required;
};

// The IQ search tables are built on first use, so a failed allocation is reported as a result
// code instead of an exception crossing the plugin's C boundary.
template <int64_t Elems, class Block, class Fn>
int32_t encode_iq_blocks(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix,
                         IqChecks checks, Fn&& block) {
  if (n_per_row % Elems != 0) return QF_CODEC_BAD_ROW_LENGTH;
  if (checks.imatrix_required && imatrix == nullptr) return QF_CODEC_NEEDS_IMATRIX;
  if (checks.finite_required && !all_finite(src, n_rows * n_per_row)) return QF_CODEC_NON_FINITE;
  try {
    for_each_block<Elems, Block>(src, dst, n_rows, n_per_row, imatrix, block);
  } catch (...) {
    return QF_CODEC_UNSUPPORTED;
  }
  return QF_CODEC_OK;
}

template <int64_t Elems, class Block, class Fn>
int32_t decode_iq_blocks(const void* src, float* dst, int64_t n_rows, int64_t n_per_row, Fn&& block) {
  if (n_per_row % Elems != 0) return QF_CODEC_BAD_ROW_LENGTH;
  for_each_decoded_block<Elems, Block>(src, dst, n_rows, n_per_row, block);
  return QF_CODEC_OK;
}

}  // namespace quantflow::codec_kit
