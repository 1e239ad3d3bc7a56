// Q4_0 encode and decode kernels (see simd_blocks.hpp), one block at a time. Elements j and
// j + 16 share byte j, so each step loads both halves of the block. The signed extreme is the
// first element whose magnitude equals the block's maximum magnitude, as in the scalar scan.
#include <cstdint>

#include "codec_kit/block_fields.hpp"
#include "codec_kit/q4_0_block.hpp"
#include "codec_kit/simd_blocks.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/simd_q4_0.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/simd_exact-inl.h"

HWY_BEFORE_NAMESPACE();
namespace quantflow::codec_kit::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr size_t kHalf = kLegacyQK / 2;

// signed_absmax: +0 for an all-zero block (even for -0 elements), as the scalar scan never
// replaces its initial value then.
template <class DF>
HWY_INLINE float SignedAbsMax(DF df, const float* HWY_RESTRICT x) {
  const size_t lanes = hn::Lanes(df);
  auto amax = hn::Zero(df);
  for (size_t j = 0; j < kLegacyQK; j += lanes) amax = hn::Max(amax, hn::Abs(hn::LoadU(df, x + j)));
  const auto vmax = hn::MaxOfLanes(df, amax);
  if (hn::GetLane(vmax) == 0.0f) return 0.0f;
  for (size_t j = 0; j < kLegacyQK; j += lanes) {
    const intptr_t first = hn::FindFirstTrue(df, hn::Eq(hn::Abs(hn::LoadU(df, x + j)), vmax));
    if (first >= 0) return x[j + static_cast<size_t>(first)];
  }
  return 0.0f;  // not reached: some element has the maximum magnitude
}

void EncodeQ4_0Run(const float* HWY_RESTRICT x, void* HWY_RESTRICT blocks, int64_t n_blocks) {
  const hn::CappedTag<float, kHalf> df;
  const hn::RebindToSigned<decltype(df)> di;
  const size_t lanes = hn::Lanes(df);
  auto* out = static_cast<BlockQ4_0*>(blocks);
  for (int64_t b = 0; b < n_blocks; ++b, x += kLegacyQK) {
    const float d = SignedAbsMax(df, x) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store(out[b].d, d);
    const auto vid = hn::Set(df, id);
    const auto code = [&](size_t j) {  // min(15, (int8_t)(x * id + 8.5f)), no fused multiply-add
      const auto shifted = hn::Add(hn::Mul(hn::LoadU(df, x + j), vid), hn::Set(df, 8.5f));
      return hn::Min(CastToInt8(df, shifted), hn::Set(di, 15));
    };
    for (size_t j = 0; j < kHalf; j += lanes) {
      StoreLowBytes(di, hn::Or(code(j), hn::ShiftLeft<4>(code(j + kHalf))), out[b].qs + j);
    }
  }
}

void DecodeQ4_0Run(const void* HWY_RESTRICT blocks, float* HWY_RESTRICT y, int64_t n_blocks) {
  const hn::CappedTag<float, kHalf> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<uint8_t, decltype(df)> du8;
  const size_t lanes = hn::Lanes(df);
  const auto* in = static_cast<const BlockQ4_0*>(blocks);
  for (int64_t b = 0; b < n_blocks; ++b, y += kLegacyQK) {
    const auto d = hn::Set(df, load(in[b].d));
    const auto offset = hn::Set(di, 8);
    for (size_t j = 0; j < kHalf; j += lanes) {
      const auto packed = hn::PromoteTo(di, hn::LoadU(du8, in[b].qs + j));
      const auto low = hn::Sub(hn::And(packed, hn::Set(di, 0x0F)), offset);
      const auto high = hn::Sub(hn::ShiftRight<4>(packed), offset);
      hn::StoreU(hn::Mul(hn::ConvertTo(df, low), d), df, y + j);
      hn::StoreU(hn::Mul(hn::ConvertTo(df, high), d), df, y + j + kHalf);
    }
  }
}

}  // namespace quantflow::codec_kit::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quantflow::codec_kit {

HWY_EXPORT(EncodeQ4_0Run);
HWY_EXPORT(DecodeQ4_0Run);

void encode_q4_0_run(const float* x, void* blocks, int64_t n_blocks) {
  HWY_DYNAMIC_DISPATCH(EncodeQ4_0Run)(x, blocks, n_blocks);
}

void decode_q4_0_run(const void* blocks, float* y, int64_t n_blocks) {
  HWY_DYNAMIC_DISPATCH(DecodeQ4_0Run)(blocks, y, n_blocks);
}

}  // namespace quantflow::codec_kit
#endif  // HWY_ONCE
