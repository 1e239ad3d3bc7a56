// Entry points shared between the descriptor and the reader/writer translation units.
#pragma once

#include <memory>
#include <string>

#include "quantflow/container.hpp"

namespace quantflow::gguf {

// Opens a GGUF file; the first shard of a split model opens the whole model (split.hpp).
Result<std::unique_ptr<Reader>> open_reader(const std::string& path, const CodecCatalog& catalog);
// Opens exactly one file, split keys or not.
Result<std::unique_ptr<Reader>> open_file_reader(const std::string& path, const CodecCatalog& catalog);
Result<std::unique_ptr<Writer>> create_writer(OutputSink& sink, const CodecCatalog& catalog,
                                              const WriterOptions& options);

// The refusal for a file that starts with a pre-GGUF ggml magic, or an empty string.
std::string describe_legacy_magic(const unsigned char* head, size_t n_head);

}  // namespace quantflow::gguf
