// Sharded safetensors: model.safetensors.index.json. One valid shard sits beside the index
// (written once), so inputs that name it reach the cross-checks between index and shards.
#include <cstring>
#include <string>

#include "safetensors/index_reader.hpp"
#include "support.hpp"
#include "targets.hpp"

namespace qf_fuzz {

namespace {

// A shard with tensors "a" (F32 [2]) and "b" (U8 [3]).
void write_shard_once() {
  static const bool written = [] {
    const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}})";
    std::string file(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(file.data(), &n, 8);
    file += header + std::string(11, '\x01');
    scratch_file("model-00001-of-00001.safetensors", reinterpret_cast<const uint8_t*>(file.data()), file.size());
    return true;
  }();
  (void)written;
}

}  // namespace

quantflow::Status fuzz_safetensors_index(const uint8_t* data, size_t size) {
  write_shard_once();
  const std::string path = scratch_file("model.safetensors.index.json", data, size);
  auto reader = quantflow::safetensors::IndexReader::open(path, catalog());
  if (!reader.ok()) return reader.take_status();
  check_reader(**reader);
  return {};
}

}  // namespace qf_fuzz
