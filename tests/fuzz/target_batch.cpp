// Batch files (docs/build-farm.md): structure, value types and the matrix expansion, from text.
#include <string>

#include "batch/expansion.hpp"
#include "support.hpp"
#include "targets.hpp"

namespace qf_fuzz {

quantflow::Status fuzz_batch(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto batch = quantflow::batch::parse_batch_file(text, "fuzz.yaml", scratch_dir());
  if (!batch.ok()) return batch.take_status();
  auto tasks = quantflow::batch::expand_batch(*batch);
  if (!tasks.ok()) return tasks.take_status();
  return {};
}

}  // namespace qf_fuzz
