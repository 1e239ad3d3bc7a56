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
constexpr int kBlockBytes = 292;

// Byte offsets inside a block.
constexpr int kD = 0, kQs = 4, kBsums = 260;

// quantize_row_q8_K_ref. The reference leaves bsums unwritten for an all-zero block; zeros are
// what a correct dot product needs, so write those.
void encode_block(const float* x, uint8_t* y) {
  std::memset(y, 0, kBlockBytes);
  float amax;
  const float max = kit::signed_absmax(kQK, x, &amax);
  if (amax == 0) return;
  const float iscale = -127.f / max;
  auto* qs = reinterpret_cast<int8_t*>(y + kQs);
  for (int j = 0; j < kQK; ++j) {
    const int v = kit::nearest_int(iscale * x[j]);
    qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
  }
  for (int j = 0; j < kQK / 16; ++j) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += qs[16 * j + i];
    kit::put_u16(y + kBsums + 2 * j, static_cast<uint16_t>(static_cast<int16_t>(sum)));
  }
  kit::put_u32(y + kD, std::bit_cast<uint32_t>(1 / iscale));
}

int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, kBlockBytes>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

void decode_block(const uint8_t* b, float* y) {
  const float d = std::bit_cast<float>(kit::get_u32(b + kD));
  const auto* qs = reinterpret_cast<const int8_t*>(b + kQs);
  for (int j = 0; j < kQK; ++j) y[j] = d * qs[j];
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, kBlockBytes>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "15"}};

const QfCodecDescriptor kCodec = {
    .name = "q8_k",
    .description =
        "ggml Q8_K: 256 int8 codes with an fp32 scale and 16-weight sums (dot-product intermediate), 9.125 bits/weight",
    .block_elems = kQK,
    .block_bytes = kBlockBytes,
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-q8_k", "1.0.0", kCodec)
