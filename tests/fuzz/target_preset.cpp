// Preset YAML (docs/presets.md), read from a file as load_preset does for a path.
#include "pipeline/llama/preset.hpp"
#include "support.hpp"
#include "targets.hpp"

namespace qf_fuzz {

quantflow::Status fuzz_preset(const uint8_t* data, size_t size) {
  auto preset = quantflow::pipeline::load_preset_file(scratch_file("preset.yaml", data, size));
  if (!preset.ok()) return preset.take_status();
  return {};
}

}  // namespace qf_fuzz
