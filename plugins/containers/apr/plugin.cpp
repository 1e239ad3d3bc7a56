// APR container plugin (aprender's model format; spec: /work/shared/docs/formats/apr.md)
// ========================================================================================
//
// What it reads: APR v2 files ("APR\0", and the legacy "APR2" spelling, reported in the
// properties) with every check of the spec's reader checklist: header CRC, footer CRC,
// LAYOUT_COLUMN_MAJOR refused, sections and tensors bounds-checked with checked arithmetic,
// the index sorted and free of duplicates, tensors 64-byte aligned and as large as dtype and
// shape say. zstd-compressed files (our extension) are decoded per tensor; the LZ4 bit is
// accepted only over raw data. A sharded model opens from its first shard or its manifest.
// APR v1 ("APRN") and aprender-tsp files are recognised and refused, saying what they are.
//
// What it writes: APR v2 byte for byte as aprender's writer would (§5's key order, compact
// JSON, name-sorted index, 64-byte alignment, header and footer CRCs), optionally with each
// tensor as one zstd frame (`--option compress_tensors=zstd[:LEVEL]`), split into shards
// with a manifest by `output.split_size`.
//
// Folders, one concern each (files inside have one purpose each):
//   format/    the bytes of the format: magic numbers, limits and header flags (format.hpp,
//              flags.cpp), zlib's CRC-32, the 64-byte header, the tensor index entries, and
//              dtype ids <-> encodings (codec-backed via the catalog, storage types here)
//   metadata/  the JSON metadata <-> typed Metadata mapping: serde_json's text (string escapes,
//              ryu float layout), the typed fields and where they live, one value at a time,
//              and the whole mapping (metadata_codec.hpp, metadata_decode.cpp, metadata_encode.cpp)
//   reading/   one v2 file: input ranges and the CRC of a file prefix, zstd frames per tensor
//              (also the compress_tensors option), the refusals of APR v1 and version-1 files
//   shards/    sharded models: shard names, the split convention, the manifest, and the reader
//              that joins shards
//   writing/   the writer: the file's layout, the anonymous spill file for compressed tensors
#include <iterator>

#include "format/format.hpp"
#include "quantflow/plugin.hpp"
#include "shards/shards.hpp"
#include "writing/writer.hpp"

namespace {

using namespace quantflow;
using namespace quantflow::apr;

bool magic_is(const unsigned char* head, size_t n, const unsigned char (&magic)[4]) {
  return n >= 4 && std::equal(magic, magic + 4, head);
}

// Old and foreign APR generations are claimed too, so that open() can say what they are.
int32_t probe(const unsigned char* head, size_t n_head) {
  if (head == nullptr) return 0;
  if (magic_is(head, n_head, kMagicV2) || magic_is(head, n_head, kMagicLegacyV2) || magic_is(head, n_head, kMagicV1))
    return 100;
  // Above safetensors' claim on JSON naming a weight_map (50, +1 for the .json extension).
  if (looks_like_manifest(head, n_head)) return 70;
  return 0;
}

Result<std::unique_ptr<Reader>> open_reader(const std::string& path, const CodecCatalog& catalog) {
  try {
    return open_model(path, catalog);
  } catch (const std::bad_alloc&) {
    return bad_input("out of memory while reading the APR header").with_file(path);
  } catch (const std::exception& e) {
    return internal_error(std::string("APR reader failed: ") + e.what()).with_file(path);
  }
}

Result<std::unique_ptr<Writer>> create_writer(OutputSink& sink, const CodecCatalog& catalog,
                                              const WriterOptions& options) {
  try {
    const auto it = options.find(kCompressOption);
    auto compression = parse_compression(it == options.end() ? "none" : it->second);
    if (!compression.ok()) return compression.take_status().with_file(sink.target_path());
    return std::unique_ptr<Writer>(new FileWriter(sink, catalog, *compression));
  } catch (const std::exception& e) {
    return internal_error(std::string("APR writer failed: ") + e.what()).with_file(sink.target_path());
  }
}

const QfWriterOption kWriterOptions[] = {
    {.key = kCompressOption,
     .type = QF_OPTION_STRING,
     .default_value = "none",
     .description = "none, zstd or zstd:LEVEL (1-22): store each tensor as one zstd frame (readable by quantflow "
                    "only; aprender and realizar cannot read compressed tensors)"},
};

// aprender's shard naming; every shard is a complete file with the metadata and says which
// shard it is; the manifest beside them lists shards and tensors.
const QfSplitConvention kSplit = {
    .file_name = "{stem}-{number:05d}-of-{count:05d}{extension}",
    .metadata_in_every_file = 1,
    .split_keys = kSplitKeys,
    .tag_file = tag_split_file,
    .index_suffix = kManifestSuffix,
    .index_text = manifest_text,
};

const QfContainerDescriptor kContainer = {
    .name = "apr",
    .description =
        "APR v2 (aprender): read and write, zstd-compressed tensors, shards with a manifest; "
        "refuses APR v1 by name",
    .extensions = ".apr",
    .probe = probe,
    .open_reader = open_reader,
    .create_writer = create_writer,
    .writer_options = kWriterOptions,
    .n_writer_options = std::size(kWriterOptions),
    .split = &kSplit,
};

}  // namespace

QUANTFLOW_CONTAINER_PLUGIN("container-apr", "0.1.0", "APR container", kContainer)
