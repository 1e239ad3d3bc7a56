// The Highway target controls of simd_blocks.hpp. Highway keeps the chosen target in its shared
// library, so choosing one here also redirects the kernels inside every loaded codec plugin.
#include <cstdint>
#include <string>
#include <vector>

#include "codec_kit/simd_blocks.hpp"
#include "hwy/targets.h"

namespace quantflow::codec_kit {

std::vector<int64_t> simd_targets() { return hwy::SupportedAndGeneratedTargets(); }

void use_simd_target(int64_t target) { hwy::SetSupportedTargetsForTest(target); }

std::string simd_target_name(int64_t target) { return hwy::TargetName(target); }

}  // namespace quantflow::codec_kit
