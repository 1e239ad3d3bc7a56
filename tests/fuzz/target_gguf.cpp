// GGUF container reader: header, metadata, tensor infos, data layout, split keys.
#include "gguf/gguf_plugin.hpp"
#include "support.hpp"
#include "targets.hpp"

namespace qf_fuzz {

quantflow::Status fuzz_gguf(const uint8_t* data, size_t size) {
  // The name is not a shard name, so a file claiming to be a split model is refused
  // before any other file is looked for.
  const std::string path = scratch_file("model.gguf", data, size);
  auto reader = quantflow::gguf::open_reader(path, catalog());
  if (!reader.ok()) return reader.take_status();
  check_reader(**reader);
  return {};
}

}  // namespace qf_fuzz
