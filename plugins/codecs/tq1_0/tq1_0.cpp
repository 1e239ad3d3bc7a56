// TQ1_0: 256 ternary elements packed base-3, five trits per byte (four in the last four
// bytes), plus one fp16 scale; value = (t - 1) * d.
#include <cmath>
#include <cstdint>
#include <iterator>

#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/fp16.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kQK = 256;
constexpr int kQsBytes = 48;
constexpr int kQhBytes = 4;
constexpr uint8_t kPow3[6] = {1, 3, 9, 27, 81, 243};

// ggml's block_tq1_0.
struct BlockTq1_0 {
  uint8_t qs[kQsBytes];  // five trits per byte: elements 0..239
  uint8_t qh[kQhBytes];  // four trits per byte: elements 240..255
  kit::Half d;
};
static_assert(sizeof(BlockTq1_0) == kQsBytes + kQhBytes + sizeof(kit::Half));

// Scaling the base-3 number by 256/243 (rounded up) puts trit k in the top bits after k
// multiplications by 3 mod 256, so decoding needs no division.
uint8_t pack_trits(int v) { return static_cast<uint8_t>((v * 256 + 242) / 243); }

int trit(uint8_t byte, int k) {
  const uint8_t q = static_cast<uint8_t>(byte * kPow3[k]);
  return (q * 3) >> 8;
}

// quantize_row_tq1_0_ref. lroundf rounds ties away from zero.
void encode_block(const float* x, BlockTq1_0& y) {
  const float d = kit::abs_max(x, kQK);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  auto t = [&](int e) { return static_cast<int>(std::lround(x[e] * id)) + 1; };
  // Elements 0..159: trit k of qs[m] is element 32k + m.
  for (int m = 0; m < 32; ++m) {
    int v = 0;
    for (int k = 0; k < 5; ++k) v = v * 3 + t(32 * k + m);
    y.qs[m] = pack_trits(v);
  }
  // Elements 160..239: trit k of qs[32 + m] is element 160 + 16k + m.
  for (int m = 0; m < 16; ++m) {
    int v = 0;
    for (int k = 0; k < 5; ++k) v = v * 3 + t(160 + 16 * k + m);
    y.qs[32 + m] = pack_trits(v);
  }
  // Elements 240..255: four trits per byte, with a zero fifth trit appended.
  for (int j = 0; j < kQhBytes; ++j) {
    int v = 0;
    for (int k = 0; k < 4; ++k) v = v * 3 + t(240 + 4 * k + j);
    y.qh[j] = pack_trits(v * 3);
  }
  kit::store(y.d, d);
}

void decode_block(const BlockTq1_0& b, float* y) {
  const float d = kit::load(b.d);
  for (int k = 0; k < 5; ++k)
    for (int m = 0; m < 32; ++m) y[32 * k + m] = static_cast<float>(trit(b.qs[m], k) - 1) * d;
  for (int k = 0; k < 5; ++k)
    for (int m = 0; m < 16; ++m) y[160 + 16 * k + m] = static_cast<float>(trit(b.qs[32 + m], k) - 1) * d;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < kQhBytes; ++j) y[240 + 4 * k + j] = static_cast<float>(trit(b.qh[j], k) - 1) * d;
}

// The importance matrix is ignored, as in ggml.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  return kit::encode_blocks<kQK, BlockTq1_0>(src, dst, n_rows, n_per_row, imatrix, encode_block);
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  return kit::decode_blocks<kQK, BlockTq1_0>(src, dst, n_rows, n_per_row, decode_block);
}

const QfContainerId kIds[] = {{"gguf", "34"}, {"gguf.file_type", "36"}};

const QfCodecDescriptor kCodec = {
    .name = "tq1_0",
    .description = "ggml TQ1_0: 256 ternary weights packed base-3 with one fp16 scale (1.6875 bits per weight)",
    .block_elems = kQK,
    .block_bytes = sizeof(BlockTq1_0),
    .kind = QF_KIND_QUANTIZED,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-tq1_0", "1.0.0", kCodec)
