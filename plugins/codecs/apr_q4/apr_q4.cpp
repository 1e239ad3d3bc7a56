// APR's native q4 (aprender dtype 128, apr.md §6.2): blocks of 32 consecutive elements of the
// flattened tensor, crossing rows, the last one partial; each an fp16 scale and 32 four-bit
// codes, value = (nibble - 8) * scale.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>

#include "codec_kit/block_extremes.hpp"
#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/whole_tensor.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

constexpr int kBlockElems = 32;
constexpr int kCodeOffset = 8;  // nibble = q + 8 for q in [-8, 7]
// aprender decodes a scale below the smallest normal fp16 (or NaN, or infinite) as 0.
constexpr float kSmallestNormalHalf = 0x1p-14f;

struct BlockAprQ4 {
  kit::Half scale;
  uint8_t nibbles[kBlockElems / 2];  // element i in the low nibble of byte i / 2 when i is even, high when odd
};
static_assert(sizeof(BlockAprQ4) == sizeof(kit::Half) + kBlockElems / 2);

int64_t blocks_for(int64_t n) { return (n + kBlockElems - 1) / kBlockElems; }

// One block of the n <= 32 real elements at x; the nibbles of missing elements stay 0.
void encode_block(const float* x, int n, BlockAprQ4& y) {
  const float amax = kit::abs_max(x, n);
  const float s = amax == 0.0f ? 1.0f : amax / 7.0f;
  kit::store(y.scale, s);
  std::fill(std::begin(y.nibbles), std::end(y.nibbles), uint8_t{0});
  for (int i = 0; i < n; ++i) {
    const auto nibble = static_cast<uint8_t>(kit::rounded_code(x[i], s, -8, 7) + kCodeOffset);
    y.nibbles[i / 2] |= static_cast<uint8_t>(i % 2 == 0 ? nibble : nibble << 4);
  }
}

void decode_block(const BlockAprQ4& b, int n, float* y) {
  float scale = kit::load(b.scale);
  if (!std::isfinite(scale) || std::fabs(scale) < kSmallestNormalHalf) scale = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int nibble = i % 2 == 0 ? b.nibbles[i / 2] & 0x0F : b.nibbles[i / 2] >> 4;
    y[i] = static_cast<float>(nibble - kCodeOffset) * scale;
  }
}

// Calls block(first_element, n_real, block_index) for every block of every row (unit).
template <class Fn>
void for_each_block(int64_t n_rows, int64_t n_per_row, Fn&& block) {
  const int64_t per_row = blocks_for(n_per_row);
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t b = 0; b < per_row; ++b) {
      const int64_t first = b * kBlockElems;
      block(r * n_per_row + first, static_cast<int>(std::min<int64_t>(kBlockElems, n_per_row - first)),
            r * per_row + b);
    }
}

// There is no weighted search; an importance matrix is ignored.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* /*imatrix*/) {
  if (const int32_t rc = kit::check_whole_tensor_encode(src, n_rows, n_per_row); rc != QF_CODEC_OK) return rc;
  BlockAprQ4* out = kit::blocks_at<BlockAprQ4>(dst);
  for_each_block(n_rows, n_per_row, [&](int64_t first, int n, int64_t ib) { encode_block(src + first, n, out[ib]); });
  return QF_CODEC_OK;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (const int32_t rc = kit::check_whole_tensor_decode(n_rows, n_per_row); rc != QF_CODEC_OK) return rc;
  const BlockAprQ4* in = kit::blocks_at<BlockAprQ4>(src);
  for_each_block(n_rows, n_per_row, [&](int64_t first, int n, int64_t ib) { decode_block(in[ib], n, dst + first); });
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"apr", "128"}};

const QfCodecDescriptor kCodec = {
    .name = "apr_q4",
    .description =
        "APR native q4: 32 x 4-bit codes with one fp16 scale, blocks over the flattened tensor (4.5 bits "
        "per weight)",
    .block_elems = kBlockElems,
    .block_bytes = sizeof(BlockAprQ4),
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_WHOLE_TENSOR,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-apr_q4", "1.0.0", kCodec)
