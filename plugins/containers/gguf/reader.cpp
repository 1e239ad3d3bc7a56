// GGUF v2/v3 reader: opens a mapped file (or a split model's shards) and refuses pre-GGUF
// ggml files by name; parser.hpp does the parsing.
#include <cstring>

#include "gguf_plugin.hpp"
#include "gguf_reader.hpp"
#include "gguf_types.hpp"
#include "parser.hpp"
#include "split.hpp"
#include "quantflow/mapped_file.hpp"

namespace quantflow::gguf {

namespace {

std::string legacy_name(uint32_t magic) {
  switch (magic) {
    case kMagicGgml:
      return "GGML";
    case kMagicGgmf:
      return "GGMF";
    case kMagicGgjt:
      return "GGJT";
  }
  return "";
}

}  // namespace

std::string describe_legacy_magic(const unsigned char* head, size_t n_head) {
  if (head == nullptr || n_head < 4) return "";
  uint32_t magic = 0;
  std::memcpy(&magic, head, 4);
  const std::string name = legacy_name(magic);
  if (name.empty()) return "";
  std::string what = name;
  if (magic == kMagicGgml) {
    what += ", unversioned";
  } else if (n_head >= 8) {
    uint32_t version = 0;
    std::memcpy(&version, head + 4, 4);
    what += " v" + std::to_string(version);
  }
  return "pre-GGUF ggml file (" + what + "); convert it with a current llama.cpp first";
}

Result<std::unique_ptr<Reader>> open_file_reader(const std::string& path, const CodecCatalog& catalog) {
  QF_ASSIGN_OR_RETURN(auto file, catalog.open_input(path));
  auto reader = std::make_unique<GgufReader>();
  reader->file_ = std::move(file);
  Parser parser(*reader, catalog);
  QF_RETURN_IF_ERROR(parser.parse());
  return std::unique_ptr<Reader>(std::move(reader));
}

Result<std::unique_ptr<Reader>> open_reader(const std::string& path, const CodecCatalog& catalog) {
  QF_ASSIGN_OR_RETURN(auto first, open_file_reader(path, catalog));
  return open_split(std::move(first), path,
                    [&catalog](const std::string& shard) { return open_file_reader(shard, catalog); });
}

}  // namespace quantflow::gguf
