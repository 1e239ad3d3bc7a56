// Q8_K: 256 int8 codes under one fp32 scale plus per-16 code sums; ggml's dot-product
// intermediate, provided so blocks can be produced and inspected.
#include <bit>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/quant_search.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 256;

// ggml's block_q8_K.
struct BlockQ8_K {
  kit::Float32 d;
  uint8_t qs[kQK];           // int8 codes
  kit::U16 bsums[kQK / 16];  // int16 sums of each 16 codes
};
static_assert(sizeof(BlockQ8_K) == sizeof(kit::Float32) + kQK + kQK / 16 * sizeof(kit::U16));

// quantize_row_q8_K_ref. The reference leaves bsums unwritten for an all-zero block; zeros are
// what a correct dot product needs, so write those.
void encode_block(const float* x, BlockQ8_K& y) {
  y = BlockQ8_K{};
  float amax;
  const float max = kit::signed_absmax(kQK, x, &amax);
  if (amax == 0) return;
  const float iscale = -127.f / max;
  int8_t qs[kQK];
  for (int j = 0; j < kQK; ++j) {
    const int v = kit::nearest_int(iscale * x[j]);
    qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
    y.qs[j] = static_cast<uint8_t>(qs[j]);
  }
  for (int j = 0; j < kQK / 16; ++j) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += qs[16 * j + i];
    kit::store(y.bsums[j], static_cast<uint16_t>(static_cast<int16_t>(sum)));
  }
  kit::store(y.d, 1 / iscale);
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockQ8_K>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

void decode_block(const BlockQ8_K& b, float* y) {
  const float d = kit::load(b.d);
  for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<int8_t>(b.qs[j]);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockQ8_K>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "15"}};

const QfCodecDescriptor kCodec = {
    .name = "q8_k",
    .description =
        "ggml Q8_K: 256 int8 codes with an fp32 scale and 16-weight sums (dot-product intermediate), 9.125 bits/weight",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockQ8_K),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q8_k", "1.0.0", kCodec)
