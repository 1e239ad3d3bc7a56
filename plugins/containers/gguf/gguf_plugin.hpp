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

// Where a GGUF file records its main encoding (llama's ftype).
inline constexpr char kFileTypeKey[] = "general.file_type";

// Records `file_type` as llama-quantize does: general.quantization_version, then
// general.file_type, each moved to the end of the metadata.
void record_file_type(Metadata& metadata, uint32_t file_type);

// Adds split.no, split.tensors.count and split.count to file `number` (0-based) of a split.
void tag_split_file(Metadata& metadata, uint32_t number, uint32_t count, uint64_t total_tensors);

// The refusal for a file that starts with a pre-GGUF ggml magic, or an empty string.
std::string describe_legacy_magic(const unsigned char* head, size_t n_head);

}  // namespace quantflow::gguf
