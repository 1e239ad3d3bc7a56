// Q8_0 encode and decode kernels (see simd_blocks.hpp), one block at a time with the block's
// 32 elements spread over the lanes: amax is a maximum (order-free), the rest is per element.
#include <cstdint>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/q8_0_block.hpp"
#include "codec_kit/simd_blocks.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/simd_q8_0.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/simd_exact-inl.h"

HWY_BEFORE_NAMESPACE();
namespace quantflow::codec_kit::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void EncodeQ8_0Run(const float* HWY_RESTRICT x, void* HWY_RESTRICT blocks, int64_t n_blocks) {
  const hn::CappedTag<float, kQ8_0Elems> df;
  const hn::RebindToSigned<decltype(df)> di;
  const size_t lanes = hn::Lanes(df);
  auto* out = static_cast<BlockQ8_0*>(blocks);
  for (int64_t b = 0; b < n_blocks; ++b, x += kQ8_0Elems) {
    auto amax = hn::Zero(df);
    for (size_t j = 0; j < kQ8_0Elems; j += lanes) amax = hn::Max(amax, hn::Abs(hn::LoadU(df, x + j)));
    const float d = hn::GetLane(hn::MaxOfLanes(df, amax)) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store(out[b].d, d);
    const auto vid = hn::Set(df, id);
    for (size_t j = 0; j < kQ8_0Elems; j += lanes) {
      const auto scaled = hn::Mul(hn::LoadU(df, x + j), vid);
      StoreLowBytes(di, CastToInt8(df, RoundHalfAway(df, scaled)), out[b].qs + j);
    }
  }
}

void DecodeQ8_0Run(const void* HWY_RESTRICT blocks, float* HWY_RESTRICT y, int64_t n_blocks) {
  const hn::CappedTag<float, kQ8_0Elems> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> di8;
  const size_t lanes = hn::Lanes(df);
  const auto* in = static_cast<const BlockQ8_0*>(blocks);
  for (int64_t b = 0; b < n_blocks; ++b, y += kQ8_0Elems) {
    const auto d = hn::Set(df, load(in[b].d));
    const auto* codes = reinterpret_cast<const int8_t*>(in[b].qs);
    for (size_t j = 0; j < kQ8_0Elems; j += lanes) {
      const auto q = hn::PromoteTo(di, hn::LoadU(di8, codes + j));
      hn::StoreU(hn::Mul(hn::ConvertTo(df, q), d), df, y + j);
    }
  }
}

}  // namespace quantflow::codec_kit::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quantflow::codec_kit {

HWY_EXPORT(EncodeQ8_0Run);
HWY_EXPORT(DecodeQ8_0Run);

void encode_q8_0_run(const float* x, void* blocks, int64_t n_blocks) {
  HWY_DYNAMIC_DISPATCH(EncodeQ8_0Run)(x, blocks, n_blocks);
}

void decode_q8_0_run(const void* blocks, float* y, int64_t n_blocks) {
  HWY_DYNAMIC_DISPATCH(DecodeQ8_0Run)(blocks, y, n_blocks);
}

}  // namespace quantflow::codec_kit
#endif  // HWY_ONCE
