// all_finite_simd (simd_blocks.hpp): whether any element has the all-ones exponent of infinity
// and NaN. The largest exponent field over the input decides it, and a maximum is order-free.
#include <cstdint>

#include "codec_kit/finite.hpp"
#include "codec_kit/simd_blocks.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/simd_finite.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace quantflow::codec_kit::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

bool AllFinite(const float* HWY_RESTRICT x, int64_t n) {
  const hn::ScalableTag<float> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const auto exponent_mask = hn::Set(du, 0x7F800000u);
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  // Checked every 64 Ki elements, so that a bad value near the start stops the scan early.
  constexpr int64_t kChunk = 1 << 16;
  int64_t i = 0;
  while (i + lanes <= n) {
    auto largest = hn::Zero(du);
    const int64_t end = i + kChunk < n ? i + kChunk : n;
    for (; i + lanes <= end; i += lanes) {
      largest = hn::Max(largest, hn::And(hn::BitCast(du, hn::LoadU(df, x + i)), exponent_mask));
    }
    if (hn::GetLane(hn::MaxOfLanes(du, largest)) == 0x7F800000u) return false;
  }
  return all_finite(x + i, n - i);
}

}  // namespace quantflow::codec_kit::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace quantflow::codec_kit {

HWY_EXPORT(AllFinite);

bool all_finite_simd(const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(AllFinite)(x, n); }

}  // namespace quantflow::codec_kit
#endif  // HWY_ONCE
