// APR's native q8 (aprender dtype 129, apr.md §6.3): one f32 scale for the whole tensor, then
// one int8 code per element, value = q * scale. An empty tensor has no bytes, not even the scale.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/block_rows.hpp"
#include "codec_kit/whole_tensor.hpp"
#include "quantflow/plugin.hpp"

namespace {

namespace kit = quantflow::codec_kit;

// The tensor-wide fields before the codes.
struct AprQ8Prefix {
  kit::Float32 scale;
};
static_assert(sizeof(AprQ8Prefix) == 4);

constexpr int kMaxCode = 127;  // codes are symmetric: -127..127, never -128

int64_t unit_bytes(int64_t n) { return n == 0 ? 0 : static_cast<int64_t>(sizeof(AprQ8Prefix)) + n; }

// kit::abs_max counts in int; a whole tensor may hold more elements than that.
void encode_unit(const float* x, int64_t n, uint8_t* out) {
  if (n == 0) return;
  float amax = 0.0f;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float s = amax == 0.0f ? 1.0f : amax / static_cast<float>(kMaxCode);
  kit::store(kit::blocks_at<AprQ8Prefix>(out)->scale, s);
  uint8_t* codes = out + sizeof(AprQ8Prefix);
  for (int64_t i = 0; i < n; ++i)
    codes[i] = static_cast<uint8_t>(static_cast<int8_t>(kit::rounded_code(x[i], s, -kMaxCode, kMaxCode)));
}

void decode_unit(const uint8_t* in, int64_t n, float* y) {
  if (n == 0) return;
  const float s = kit::load(kit::blocks_at<AprQ8Prefix>(in)->scale);
  const uint8_t* codes = in + sizeof(AprQ8Prefix);
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<int8_t>(codes[i])) * s;
}

// There is no weighted search; an importance matrix is ignored.
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* /*imatrix*/) {
  if (const int32_t rc = kit::check_whole_tensor_encode(src, n_rows, n_per_row); rc != QF_CODEC_OK) return rc;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t r = 0; r < n_rows; ++r) encode_unit(src + r * n_per_row, n_per_row, out + r * unit_bytes(n_per_row));
  return QF_CODEC_OK;
}

int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  if (const int32_t rc = kit::check_whole_tensor_decode(n_rows, n_per_row); rc != QF_CODEC_OK) return rc;
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t r = 0; r < n_rows; ++r) decode_unit(in + r * unit_bytes(n_per_row), n_per_row, dst + r * n_per_row);
  return QF_CODEC_OK;
}

const QfContainerId kIds[] = {{"apr", "129"}};

const QfCodecDescriptor kCodec = {
    .name = "apr_q8",
    .description =
        "APR native q8: one f32 scale for the whole tensor, then an int8 code per element (8 bits per "
        "weight)",
    .block_elems = 1,
    .block_bytes = 1,
    .kind = QF_KIND_QUANTIZED,
    .flags = QF_CODEC_WHOLE_TENSOR,
    .container_ids = kIds,
    .n_container_ids = std::size(kIds),
    .encode = encode,
    .decode = decode,
    .tensor_prefix_bytes = sizeof(AprQ8Prefix),
};

}  // namespace

QUANTFLOW_CODEC_PLUGIN("codec-apr_q8", "1.0.0", kCodec)
