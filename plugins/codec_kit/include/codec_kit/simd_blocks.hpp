// Highway kernels for the simple block formats, dispatched at run time to the best target this
// CPU supports. Every target produces the scalar reference's bytes (q8_0_block.hpp,
// q4_0_block.hpp): the kernels vectorise only element-wise steps and order-free reductions
// (maxima), never fuse a multiply with an add, and convert the fp16 scale with the kit's scalar
// conversion. A run of blocks is a tensor's blocks in storage order (rows have no padding).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codec_kit/block_rows.hpp"
#include "quantflow/codec.hpp"

namespace quantflow::codec_kit {

// Same answer as all_finite (finite.hpp).
bool all_finite_simd(const float* x, int64_t n);

// Encoders take finite input only (the entry points below refuse the rest first).
void encode_q8_0_run(const float* x, void* blocks, int64_t n_blocks);
void decode_q8_0_run(const void* blocks, float* y, int64_t n_blocks);
void encode_q4_0_run(const float* x, void* blocks, int64_t n_blocks);
void decode_q4_0_run(const void* blocks, float* y, int64_t n_blocks);

using EncodeRunKernel = void (*)(const float* x, void* blocks, int64_t n_blocks);
using DecodeRunKernel = void (*)(const void* blocks, float* y, int64_t n_blocks);

// encode_blocks (block_rows.hpp) with a run kernel: the same checks and result codes.
template <int64_t Elems>
int32_t encode_block_run(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, EncodeRunKernel kernel) {
  if (!splits_into_blocks(n_rows, n_per_row, Elems)) return QF_CODEC_BAD_ROW_LENGTH;
  if (!all_finite_simd(src, n_rows * n_per_row)) return QF_CODEC_NON_FINITE;
  kernel(src, dst, n_rows * (n_per_row / Elems));
  return QF_CODEC_OK;
}

template <int64_t Elems>
int32_t decode_block_run(const void* src, float* dst, int64_t n_rows, int64_t n_per_row, DecodeRunKernel kernel) {
  if (!splits_into_blocks(n_rows, n_per_row, Elems)) return QF_CODEC_BAD_ROW_LENGTH;
  kernel(src, dst, n_rows * (n_per_row / Elems));
  return QF_CODEC_OK;
}

// For tests: the Highway targets compiled in and supported by this CPU (best first), choosing
// one of them for every later kernel call in the process (0: back to the best), and a name.
std::vector<int64_t> simd_targets();
void use_simd_target(int64_t target);
std::string simd_target_name(int64_t target);

}  // namespace quantflow::codec_kit
