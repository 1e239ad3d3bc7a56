#include <cstring>
#include <iterator>

#include "gguf_plugin.hpp"
#include "gguf_types.hpp"
#include "loadable.hpp"
#include "split.hpp"
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

const QfWriterOption kWriterOptions[] = {
    {.key = kAllowUnloadableOption,
     .type = QF_OPTION_BOOL,
     .default_value = "0",
     .description = "write files llama.cpp cannot load (Hugging Face tensor names, LoRA adapters)"},
};

// llama.cpp's gguf-split layout: the first file carries the metadata, every file says which
// one it is.
const QfSplitConvention kSplit = {
    .file_name = "{stem}-{number:05d}-of-{count:05d}{extension}",
    .metadata_in_every_file = 0,
    .split_keys = "split.no split.count split.tensors.count",
    .tag_file = tag_split_file,
    .index_suffix = nullptr,
    .index_text = nullptr,
};

const QfFileTypeConvention kFileType = {.metadata_key = kFileTypeKey, .record = record_file_type};

const QfContainerDescriptor kContainer = {
    .name = "gguf",
    .description = "GGUF (llama.cpp / ggml): reads v2 and v3, split shards too; writes v3 byte-identical to ggml",
    .extensions = ".gguf",
    .probe = probe,
    .open_reader = open,
    .create_writer = create,
    .writer_options = kWriterOptions,
    .n_writer_options = std::size(kWriterOptions),
    .split = &kSplit,
    .file_type = &kFileType,
};

}  // namespace

QUANTFLOW_CONTAINER_PLUGIN("container-gguf", "0.1.0", "GGUF container", kContainer)
