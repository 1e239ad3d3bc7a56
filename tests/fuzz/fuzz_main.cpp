// The libFuzzer entry, compiled once per target with QF_FUZZ_ENTRY naming its function.
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Refusals are the expected outcome for most inputs; only crashes and reports matter.
  (void)qf_fuzz::QF_FUZZ_ENTRY(data, size);
  return 0;
}
