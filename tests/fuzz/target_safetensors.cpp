// safetensors: the JSON header (parsed straight from the input buffer, so that AddressSanitizer
// sees any read past its end), then the whole reader with quantflow's metadata conventions.
#include <span>

#include "safetensors/header.hpp"
#include "safetensors/reader.hpp"
#include "support.hpp"
#include "targets.hpp"

namespace qf_fuzz {

quantflow::Status fuzz_safetensors(const uint8_t* data, size_t size) {
  auto header = quantflow::safetensors::parse_header(std::as_bytes(std::span(data, size)), catalog());
  if (!header.ok()) return header.take_status();
  const std::string path = scratch_file("model.safetensors", data, size);
  auto reader = quantflow::safetensors::FileReader::open(path, catalog());
  if (!reader.ok()) return reader.take_status();
  check_reader(**reader);
  return {};
}

}  // namespace qf_fuzz
