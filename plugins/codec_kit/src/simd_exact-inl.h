// Per-target helpers of the exact SIMD kernels: C++ scalar semantics reproduced lane by lane.
// Included once per Highway target by each kernel source (the usual -inl.h toggle guard).
#if defined(QUANTFLOW_CODEC_KIT_SIMD_EXACT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QUANTFLOW_CODEC_KIT_SIMD_EXACT_INL_H_
#undef QUANTFLOW_CODEC_KIT_SIMD_EXACT_INL_H_
#else
#define QUANTFLOW_CODEC_KIT_SIMD_EXACT_INL_H_
#endif

#include <cstdint>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace quantflow::codec_kit::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// std::round: half-way cases away from zero. trunc(v), v - trunc(v) and trunc(v) +- 1 are all
// exact, unlike trunc(|v| + 0.5), which rounds 0.49999997 up. Infinities stay as they are.
template <class DF, class VF>
HWY_INLINE VF RoundHalfAway(DF df, VF v) {
  const VF t = hn::Trunc(v);
  const auto away = hn::Ge(hn::Abs(hn::Sub(v, t)), hn::Set(df, 0.5f));
  return hn::IfThenElse(away, hn::Add(t, hn::CopySign(hn::Set(df, 1.0f), v)), t);
}

// A float -> int8_t cast as the scalar codecs compile it on x86: convert to int32 truncating
// (values outside int32 and NaN give INT32_MIN), keep the low byte. Returned as int32 lanes
// holding that byte sign-extended. Out-of-range values only arise from scales that lose
// precision in the subnormal range, where the reference does exactly this.
template <class DF, class VF>
HWY_INLINE auto CastToInt8(DF df, VF v) {
  const hn::RebindToSigned<DF> di;
  const auto in_range = hn::Lt(hn::Abs(v), hn::Set(df, 2147483648.0f));
  const auto wide = hn::IfThenElse(hn::RebindMask(di, in_range), hn::ConvertTo(di, v), hn::Set(di, INT32_MIN));
  return hn::ShiftRight<24>(hn::ShiftLeft<24>(wide));
}

// The low byte of each int32 lane, stored as n_lanes bytes.
template <class DI, class VI>
HWY_INLINE void StoreLowBytes(DI di, VI v, uint8_t* HWY_RESTRICT out) {
  const hn::Rebind<uint8_t, DI> du8;
  hn::StoreU(hn::DemoteTo(du8, hn::And(v, hn::Set(di, 0xFF))), du8, out);
}

}  // namespace quantflow::codec_kit::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // QUANTFLOW_CODEC_KIT_SIMD_EXACT_INL_H_ toggle
