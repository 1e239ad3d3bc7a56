// Importance matrix in the legacy binary .dat layout.
#include "pipeline/llama/imatrix.hpp"
#include "support.hpp"
#include "targets.hpp"

namespace qf_fuzz {

quantflow::Status fuzz_imatrix_dat(const uint8_t* data, size_t size) {
  auto im = quantflow::pipeline::load_legacy_imatrix(scratch_file("imatrix.dat", data, size));
  if (!im.ok()) return im.take_status();
  return {};
}

}  // namespace qf_fuzz
