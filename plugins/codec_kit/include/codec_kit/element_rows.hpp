// Entry points for the unscaled element formats (F16, BF16, F8_E4M3, F8_E5M2). Each element
// converts on its own and the formats have NaN and infinity (or saturate), so any row length
// and any input is accepted.
#pragma once

#include <cstdint>

#include "quantflow/codec.hpp"
#include "codec_kit/block_fields.hpp"

namespace quantflow::codec_kit {

// put(p, x) writes one element of Bytes bytes at p.
template <int64_t Bytes, class Put>
int32_t encode_elements(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, Put&& put) {
  if (n_rows < 0 || n_per_row < 0) return QF_CODEC_BAD_ROW_LENGTH;
  auto* out = static_cast<uint8_t*>(dst);
  const int64_t n = n_rows * n_per_row;
  for (int64_t i = 0; i < n; ++i) put(out + Bytes * i, src[i]);
  return QF_CODEC_OK;
}

// get(p) reads one element of Bytes bytes at p.
template <int64_t Bytes, class Get>
int32_t decode_elements(const void* src, float* dst, int64_t n_rows, int64_t n_per_row, Get&& get) {
  if (n_rows < 0 || n_per_row < 0) return QF_CODEC_BAD_ROW_LENGTH;
  const auto* in = static_cast<const uint8_t*>(src);
  const int64_t n = n_rows * n_per_row;
  for (int64_t i = 0; i < n; ++i) dst[i] = get(in + Bytes * i);
  return QF_CODEC_OK;
}

// 16-bit formats, stored little-endian.
template <uint16_t (*ToBits)(float)>
int32_t encode_u16_elements(const float* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  return encode_elements<2>(src, dst, n_rows, n_per_row, [](uint8_t* p, float x) { put_u16(p, ToBits(x)); });
}

template <float (*FromBits)(uint16_t)>
int32_t decode_u16_elements(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return decode_elements<2>(src, dst, n_rows, n_per_row, [](const uint8_t* p) { return FromBits(get_u16(p)); });
}

template <uint8_t (*ToCode)(float)>
int32_t encode_u8_elements(const float* src, void* dst, int64_t n_rows, int64_t n_per_row) {
  return encode_elements<1>(src, dst, n_rows, n_per_row, [](uint8_t* p, float x) { *p = ToCode(x); });
}

template <float (*FromCode)(uint8_t)>
int32_t decode_u8_elements(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return decode_elements<1>(src, dst, n_rows, n_per_row, [](const uint8_t* p) { return FromCode(*p); });
}

}  // namespace quantflow::codec_kit
