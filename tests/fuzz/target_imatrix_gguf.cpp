// Importance matrix in llama.cpp's GGUF form: the GGUF reader, then the in_sum2/counts pairing.
#include "gguf/gguf_plugin.hpp"
#include "pipeline/llama/imatrix.hpp"
#include "support.hpp"
#include "targets.hpp"

namespace qf_fuzz {

quantflow::Status fuzz_imatrix_gguf(const uint8_t* data, size_t size) {
  const std::string path = scratch_file("imatrix.gguf", data, size);
  auto reader = quantflow::gguf::open_reader(path, catalog());
  if (!reader.ok()) return reader.take_status();
  auto im = quantflow::pipeline::load_container_imatrix(catalog(), **reader);
  if (!im.ok()) return im.take_status();
  return {};
}

}  // namespace qf_fuzz
