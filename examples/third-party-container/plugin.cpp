// The plugin's descriptor: one container, "tinypack", reading and writing .tpk files.
#include <cstring>
#include <exception>

#include "quantflow/plugin.hpp"
#include "tinypack.hpp"

namespace {

using namespace quantflow;

int32_t probe(const unsigned char* head, size_t n_head) {
  return head != nullptr && n_head >= sizeof tinypack::kMagic &&
                 std::memcmp(head, tinypack::kMagic, sizeof tinypack::kMagic) == 0
             ? 100
             : 0;
}

// Exceptions never cross the plugin boundary: an unexpected one becomes an internal error.
Result<std::unique_ptr<Reader>> open_reader(const std::string& path, const CodecCatalog& catalog) {
  try {
    return tinypack::open_reader(path, catalog);
  } catch (const std::exception& e) {
    return internal_error(std::string("tinypack reader failed: ") + e.what()).with_file(path);
  }
}

Result<std::unique_ptr<Writer>> create_writer(OutputSink& sink, const CodecCatalog& catalog, const WriterOptions&) {
  try {
    return tinypack::create_writer(sink, catalog);
  } catch (const std::exception& e) {
    return internal_error(std::string("tinypack writer failed: ") + e.what()).with_file(sink.target_path());
  }
}

const QfContainerDescriptor kContainer = {
    .name = "tinypack",
    .description = "tinypack example container: tensors with encodings stored by name",
    .extensions = ".tpk",
    .probe = probe,
    .open_reader = open_reader,
    .create_writer = create_writer,
};

}  // namespace

QUANTFLOW_CONTAINER_PLUGIN("tinypack", "1.0.0", "tinypack container (an out-of-tree example)", kContainer)
