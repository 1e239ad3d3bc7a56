#include <cstring>

#include "gguf_plugin.hpp"
#include "gguf_types.hpp"
#include "quantflow/plugin.hpp"

namespace {

using namespace quantflow::gguf;

int32_t probe(const unsigned char* head, size_t n_head) {
  if (head == nullptr || n_head < 4) return 0;
  uint32_t magic = 0;
  std::memcpy(&magic, head, 4);
  // Old ggml files are claimed too, so that open() can tell the user how to convert them
  // instead of the host reporting an unknown format.
  if (magic == kMagic || magic == kMagicGgml || magic == kMagicGgmf || magic == kMagicGgjt) return 100;
  return 0;
}

quantflow::Result<std::unique_ptr<quantflow::Reader>> open(const std::string& path,
                                                           const quantflow::CodecCatalog& catalog) {
  try {
    return quantflow::gguf::open_reader(path, catalog);
  } catch (const std::bad_alloc&) {
    return quantflow::bad_input("out of memory while reading the GGUF header");
  } catch (const std::exception& e) {
    return quantflow::internal_error(std::string("unexpected exception while reading GGUF: ") + e.what());
  }
}

quantflow::Result<std::unique_ptr<quantflow::Writer>> create(quantflow::OutputSink& sink,
                                                             const quantflow::CodecCatalog& catalog,
                                                             const quantflow::WriterOptions& options) {
  try {
    return quantflow::gguf::create_writer(sink, catalog, options);
  } catch (const std::exception& e) {
    return quantflow::internal_error(std::string("cannot create the GGUF writer: ") + e.what());
  }
}

const QfContainerDescriptor kContainer = {
    "gguf",  "GGUF (llama.cpp / ggml): reads v2 and v3, split shards too; writes v3 byte-identical to ggml",
    ".gguf", probe,
    open,    create,
};

const QfContainerDescriptor* const kContainers[] = {&kContainer};

const QfPluginDescriptor kPlugin = {
    QUANTFLOW_ABI_VERSION, "container-gguf", "0.1.0", "GGUF container", nullptr, 0, kContainers, 1,
};

}  // namespace

QUANTFLOW_EXPORT_PLUGIN(kPlugin)
