// Container plugins: a Reader lists metadata and tensors and hands out tensor bytes lazily;
// a Writer is told everything up front, then receives tensor data and streams it out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "quantflow/codec.hpp"
#include "quantflow/input_file.hpp"
#include "quantflow/mapped_file.hpp"
#include "quantflow/metadata.hpp"
#include "quantflow/status.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow {

// What containers may ask the host: the encodings added by codec plugins, so that a container
// can name a type it has no built-in table entry for (and the reverse), and the bytes of the
// files it reads.
class CodecCatalog {
 public:
  virtual ~CodecCatalog() = default;
  virtual const CodecDescriptor* find(std::string_view name) const = 0;
  virtual const CodecDescriptor* find_by_container_id(std::string_view container, std::string_view id) const = 0;
  // Opens an input file (the one given to open_reader and any sibling a container reads, such
  // as shards). Readers should open through here rather than map files themselves: the host
  // recognises compressed inputs by their magic and decodes them behind the same interface.
  // The default maps the file as it is.
  virtual Result<std::shared_ptr<InputFile>> open_input(const std::string& path) const {
    QF_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
    return std::shared_ptr<InputFile>(std::move(file));
  }
};

// A fact about an open file worth showing in `inspect` and `verify`: a snake_case key and a
// typed value (JSON output keeps the type; text output formats it).
struct Property {
  std::string key;  // e.g. "data_offset"
  MetaValue value;
};

class Reader {
 public:
  virtual ~Reader() = default;
  virtual std::string container() const = 0;  // the container plugin's name, e.g. "gguf"
  virtual std::string version() const = 0;    // the file's format version, "" when it has none
  virtual const Metadata& metadata() const = 0;
  virtual const std::vector<TensorInfo>& tensors() const = 0;
  // The bytes of tensor `index` exactly as stored (no decoding). Cheap for mapped files.
  virtual Result<TensorData> read(size_t index) const = 0;
  // Container facts worth showing in `inspect` (alignment, data offset, header size, ...).
  virtual std::vector<Property> properties() const { return {}; }
  // The host is done with tensor `index`: a mapped reader may drop its pages from memory
  // (madvise) so that streaming a large model does not accumulate resident pages.
  virtual void release(size_t /*index*/) const {}
};

// Where a Writer's bytes go. The host implements it over a temporary file beside the
// target, which it fsyncs and renames only when the writer has finished without error.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual Status write(std::span<const std::byte> bytes) = 0;
  virtual uint64_t position() const = 0;
  virtual const std::string& target_path() const = 0;  // the final path, for messages
};

class Writer {
 public:
  virtual ~Writer() = default;
  // Declares the whole file; the writer emits its header here. Returns the order (indices
  // into `tensors`) in which it wants write_tensor calls: containers that sort tensors
  // (safetensors by dtype, then name) say so here, and the host streams in that order.
  virtual Result<std::vector<size_t>> begin(const Metadata& metadata, const std::vector<TensorInfo>& tensors) = 0;
  // Exactly tensors[index].n_bytes bytes, in the order begin() returned.
  virtual Status write_tensor(size_t index, std::span<const std::byte> bytes) = 0;
  virtual Status finish() = 0;
};

// Writer options from the CLI or a recipe (`--option key=value`), checked by the host against
// the keys the container declares (QfWriterOption) before the writer is created.
using WriterOptions = std::map<std::string, std::string>;

// One file of a split output, as a container's split index lists it.
struct SplitFile {
  std::string path;
  std::vector<TensorInfo> tensors;  // in the order they are written
};

}  // namespace quantflow

extern "C" {

// Returns a confidence that the leading bytes belong to this container: 0 = not mine,
// 100 = certain (magic matched). Files of an old or foreign version of the container
// should still be claimed, so that open() can refuse them with a precise message.
typedef int32_t (*qf_probe_fn)(const unsigned char* head, size_t n_head);

typedef quantflow::Result<std::unique_ptr<quantflow::Reader>> (*qf_open_reader_fn)(
    const std::string& path, const quantflow::CodecCatalog& catalog);

typedef quantflow::Result<std::unique_ptr<quantflow::Writer>> (*qf_create_writer_fn)(
    quantflow::OutputSink& sink, const quantflow::CodecCatalog& catalog, const quantflow::WriterOptions& options);

// A writer option the container understands, declared so that recipes and the command line
// are validated before anything is written (as GDAL drivers declare their creation options).
enum QfOptionType : uint32_t {
  QF_OPTION_BOOL = 0,      // 1, 0, true or false
  QF_OPTION_UNSIGNED = 1,  // a decimal number
  QF_OPTION_STRING = 2,    // any text
  QF_OPTION_ENCODING = 3,  // the name of a loaded codec
};

struct QfWriterOption {
  const char* key;
  uint32_t type;  // QfOptionType
  const char* default_value;
  const char* description;  // one line for `quantflow plugins --verbose` and error messages
};

// Adds the container's split keys to file `number` (0-based) of `count` split files, which hold
// `total_tensors` tensors between them.
typedef void (*qf_tag_split_file_fn)(quantflow::Metadata& metadata, uint32_t number, uint32_t count,
                                     uint64_t total_tensors);
// The text of the index file listing every split file (with paths as written).
typedef std::string (*qf_split_index_fn)(const std::vector<quantflow::SplitFile>& files,
                                         const quantflow::CodecCatalog& catalog);
// Records in `metadata` that the model's main encoding has this container file-type id (a
// codec's "<container>.file_type" id), with whatever the container records beside it.
typedef void (*qf_record_file_type_fn)(quantflow::Metadata& metadata, uint32_t file_type);

// How the container spreads one model over several files. The host packs tensors into files
// in output order and names them from `file_name`, whose fields are {stem} (the output path
// without its extension), {number} and {count} (1-based, fmt-style widths allowed) and {extension}.
struct QfSplitConvention {
  const char* file_name;            // e.g. "{stem}-{number:05d}-of-{count:05d}{extension}"
  uint32_t metadata_in_every_file;  // 0: the first file alone carries the model's metadata
  const char* split_keys;           // space-separated keys describing a split (dropped from inputs); may be null
  qf_tag_split_file_fn tag_file;    // null: files carry no split keys
  const char* index_suffix;         // the index is "<output path><suffix>"; null: no index
  qf_split_index_fn index_text;     // null when index_suffix is null
};

// Where a container records a model's main encoding; ids come from codecs' "<name>.file_type".
struct QfFileTypeConvention {
  const char* metadata_key;  // read back from inputs, e.g. "general.file_type"
  qf_record_file_type_fn record;
};

// Returns a confidence that the folder at `path` is a model of this container (0 = not mine,
// 100 = certain), for containers whose models are folders of files (config and weights).
typedef int32_t (*qf_probe_folder_fn)(const char* path);

// The text of a file the writer keeps beside a folder model's weights (e.g. config.json),
// from the model's metadata and every tensor written (in output order, across split files).
// An empty text means the model has no such file: nothing is written.
typedef quantflow::Result<std::string> (*qf_companion_text_fn)(const quantflow::Metadata& metadata,
                                                               const std::vector<quantflow::TensorInfo>& tensors,
                                                               const quantflow::CodecCatalog& catalog);

struct QfCompanionFile {
  const char* name;  // file name inside the model folder, e.g. "config.json"
  qf_companion_text_fn text;
};

// How a container that writes model folders lays one out. An output path naming a folder
// (an existing directory, or a path ending in '/') gets the weights as `<folder>/<weights_file>`
// (split files and their index named from it by QfSplitConvention) and each companion file
// beside them, written atomically after the weights.
//
// `carried_files` (ABI 6) names the files the model needs that the container does not write
// itself (a tokenizer, generation settings): fnmatch-style patterns of plain file names, no
// '/'. When the conversion's only input is a folder, every regular file at its top level
// whose name matches one is copied into the output folder byte for byte, atomically, before
// the companions. Names the container writes (weights, index, companions) are never carried.
struct QfFolderLayout {
  const char* weights_file;  // e.g. "model.safetensors"
  const QfCompanionFile* companions = nullptr;
  uint32_t n_companions = 0;
  const char* const* carried_files = nullptr;  // e.g. {"tokenizer.json", "*.tiktoken"}; null: none
  uint32_t n_carried_files = 0;
};

struct QfContainerDescriptor {
  const char* name;         // "gguf"
  const char* description;  // one line for `quantflow plugins`
  const char* extensions;   // space-separated, with dots: ".gguf" or ".safetensors .json"
  qf_probe_fn probe;
  qf_open_reader_fn open_reader;                   // null when the plugin cannot read
  qf_create_writer_fn create_writer;               // null when the plugin cannot write
  const QfWriterOption* writer_options = nullptr;  // every key the writer accepts
  uint32_t n_writer_options = 0;
  const QfSplitConvention* split = nullptr;         // null: the container cannot split a model
  const QfFileTypeConvention* file_type = nullptr;  // null: the container records no file type
  qf_probe_folder_fn probe_folder = nullptr;        // null: the container reads no folders
  const QfFolderLayout* folder = nullptr;           // null: the container writes no folders
};

}  // extern "C"

namespace quantflow {
using ContainerDescriptor = QfContainerDescriptor;
}
