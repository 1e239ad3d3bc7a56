// Block scales are derived from the whole block, so a single NaN or infinity would poison every
// code next to it; codecs that cannot carry such values refuse the input up front.
#pragma once

#include <cmath>
#include <cstdint>

namespace quantflow::codec_kit {

inline bool all_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

}  // namespace quantflow::codec_kit
