// The parsers quantflow exposes to untrusted files, one entry point each. libFuzzer drives
// them through fuzz_main.cpp (build: QUANTFLOW_FUZZ, run: scripts/fuzz.sh), and the unit
// test test_fuzz_regressions.cpp feeds them every input that once crashed, so a fix stays
// fixed in the release and sanitizer builds too.
//
// Each entry parses `size` bytes as its format would arrive from disk and returns the
// parser's Status: ok when the input was accepted, the one-line refusal otherwise. It must
// never crash, hang, leak or allocate more than the input's size justifies. An entry that
// accepts an input also checks the parser's promises (every tensor's bytes inside the
// file) and traps when one is broken, so that the fuzzer reports it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "quantflow/status.hpp"

namespace qf_fuzz {

using Entry = quantflow::Status (*)(const uint8_t* data, size_t size);

quantflow::Status fuzz_gguf(const uint8_t* data, size_t size);
quantflow::Status fuzz_safetensors(const uint8_t* data, size_t size);
quantflow::Status fuzz_safetensors_index(const uint8_t* data, size_t size);
quantflow::Status fuzz_recipe(const uint8_t* data, size_t size);
quantflow::Status fuzz_preset(const uint8_t* data, size_t size);
quantflow::Status fuzz_imatrix_gguf(const uint8_t* data, size_t size);
quantflow::Status fuzz_imatrix_dat(const uint8_t* data, size_t size);
quantflow::Status fuzz_apr(const uint8_t* data, size_t size);
quantflow::Status fuzz_zstd(const uint8_t* data, size_t size);
quantflow::Status fuzz_model_folder(const uint8_t* data, size_t size);
quantflow::Status fuzz_batch(const uint8_t* data, size_t size);

// Target name (the directory under corpus/ and regressions/) -> entry point.
struct Target {
  std::string_view name;
  Entry entry;
};
inline constexpr Target kTargets[] = {
    {"gguf", fuzz_gguf},
    {"safetensors", fuzz_safetensors},
    {"safetensors_index", fuzz_safetensors_index},
    {"recipe", fuzz_recipe},
    {"preset", fuzz_preset},
    {"imatrix_gguf", fuzz_imatrix_gguf},
    {"imatrix_dat", fuzz_imatrix_dat},
    {"apr", fuzz_apr},
    {"zstd", fuzz_zstd},
    {"model_folder", fuzz_model_folder},
    {"batch", fuzz_batch},
};

}  // namespace qf_fuzz
