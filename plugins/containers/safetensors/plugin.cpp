// The container descriptor: probe, open (single file or sharded index) and writer.
#include <exception>
#include <fstream>
#include <string_view>

#include "header.hpp"
#include "index_reader.hpp"
#include "quantflow/plugin.hpp"
#include "reader.hpp"
#include "shard_names.hpp"
#include "split_index.hpp"
#include "writer.hpp"

namespace {

using namespace quantflow;

bool looks_like_file(const unsigned char* head, size_t n) {
  if (n < 9) return false;
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | head[i];
  return length < safetensors::kMaxHeaderLength && head[8] == '{';
}

// The index's first key is usually "metadata", a few hundred bytes at most, so
// "weight_map" shows up within the probe's head.
bool looks_like_index(const unsigned char* head, size_t n) {
  const std::string_view text(reinterpret_cast<const char*>(head), n);
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{' && text.find("\"weight_map\"") != std::string_view::npos;
}

int32_t probe(const unsigned char* head, size_t n_head) {
  if (head == nullptr) return 0;
  if (looks_like_file(head, n_head)) return 60;
  if (looks_like_index(head, n_head)) return 50;
  return 0;
}

Result<std::unique_ptr<Reader>> open_reader(const std::string& path, const CodecCatalog& catalog) {
  try {
    // A file whose N happens to be 123 also starts with '{', so the file test goes first.
    unsigned char head[16] = {};
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(head), sizeof head);
    const auto n = static_cast<size_t>(in.gcount());
    const std::string_view text(reinterpret_cast<const char*>(head), n);
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (!looks_like_file(head, n) && first != std::string_view::npos && text[first] == '{') {
      QF_ASSIGN_OR_RETURN(auto index, safetensors::IndexReader::open(path, catalog));
      return std::unique_ptr<Reader>(std::move(index));
    }
    // The first shard of a split checkpoint opens the whole checkpoint through its index.
    QF_ASSIGN_OR_RETURN(const auto index_path, safetensors::index_of_shard(path));
    if (index_path) {
      QF_ASSIGN_OR_RETURN(auto index, safetensors::IndexReader::open(*index_path, catalog));
      return std::unique_ptr<Reader>(std::move(index));
    }
    QF_ASSIGN_OR_RETURN(auto file, safetensors::FileReader::open(path, catalog));
    return std::unique_ptr<Reader>(std::move(file));
  } catch (const std::exception& e) {
    return internal_error(std::string("safetensors reader failed: ") + e.what()).with_file(path);
  }
}

// The format has nothing to configure: the descriptor declares no options, so the host
// refuses any before a writer is created.
Result<std::unique_ptr<Writer>> create_writer(OutputSink& sink, const CodecCatalog& catalog, const WriterOptions&) {
  try {
    return std::unique_ptr<Writer>(new safetensors::FileWriter(sink, catalog));
  } catch (const std::exception& e) {
    return internal_error(std::string("safetensors writer failed: ") + e.what()).with_file(sink.target_path());
  }
}

// Every file of a split checkpoint is a complete safetensors file with the metadata; the
// index beside them maps tensors to files.
const QfSplitConvention kSplit = {
    .file_name = "{stem}-{number:05d}-of-{count:05d}{extension}",
    .metadata_in_every_file = 1,
    .split_keys = nullptr,
    .tag_file = nullptr,
    .index_suffix = ".index.json",
    .index_text = safetensors::split_index_text,
};

const QfContainerDescriptor kContainer = {
    .name = "safetensors",
    .description = "Hugging Face safetensors (read, write, sharded *.safetensors.index.json)",
    .extensions = ".safetensors .json",
    .probe = probe,
    .open_reader = open_reader,
    .create_writer = create_writer,
    .split = &kSplit,
};

}  // namespace

QUANTFLOW_CONTAINER_PLUGIN("container-safetensors", "0.1.0", "safetensors container", kContainer)
