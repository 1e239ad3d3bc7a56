// APR: the plugin's whole open path from bytes on disk: a v2 file (header, metadata JSON and
// its type list, index, every tensor's extent, the footer CRC), the refusals of APR v1 and
// look-alikes, and a manifest, which may name the one valid shard written beside it.
#include <string>

#include "apr/shards/shards.hpp"
#include "support.hpp"
#include "targets.hpp"

namespace qf_fuzz {

namespace {

// shard.apr: the spec's worked example (one F32 tensor w [2, 2] = 1, 2, 3, 4), 324 bytes;
// every byte not listed is zero.
void write_shard_once() {
  static const bool written = [] {
    std::string f(324, '\0');
    const auto put = [&f](size_t at, std::initializer_list<unsigned> bytes) {
      for (unsigned b : bytes) f[at++] = static_cast<char>(b);
    };
    put(0x00, {0x41, 0x50, 0x52, 0x00, 0x02, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00, 0x40});
    put(0x14, {0x6d});                    // metadata_size 109
    put(0x18, {0xc0});                    // tensor_index_offset
    put(0x21, {0x01});                    // data_offset 0x100
    put(0x28, {0x3b, 0x99, 0xb8, 0x9b});  // header CRC
    f.replace(0x40, 109,
              R"({"model_type":"example","license":null,"data_source":null,"data_license":null,"total_size":0,)"
              R"("param_count":4})");
    put(0xc0, {0x01, 0x00, 0x77, 0x00, 0x02, 0x02});  // "w", f32, ndim 2, dims[0] = 2
    put(0xcd, {0x02});                                // dims[1] = 2, offset 0
    put(0xdd, {0x10});                                // size 16
    put(0x100, {0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40});
    put(0x140, {0x47, 0x70, 0x05, 0x7f});  // footer CRC
    scratch_file("shard.apr", reinterpret_cast<const uint8_t*>(f.data()), f.size());
    return true;
  }();
  (void)written;
}

}  // namespace

quantflow::Status fuzz_apr(const uint8_t* data, size_t size) {
  write_shard_once();
  const std::string path = scratch_file("model.apr", data, size);
  auto reader = quantflow::apr::open_model(path, catalog());
  if (!reader.ok()) return reader.take_status();
  check_reader(**reader);
  return {};
}

}  // namespace qf_fuzz
