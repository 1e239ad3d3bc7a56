// Registry lookups: codecs and containers by name, container id or extension, transcoders by
// codec pair, and opening a file with the container that claims its bytes.
#include "core/registry.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/plugin_guard.hpp"
#include "streams/compression.hpp"
#include "streams/zstd_input_file.hpp"

namespace quantflow::core {

namespace fs = std::filesystem;

const CodecDescriptor* Registry::find(std::string_view name) const {
  const std::string wanted = canonical_dtype_name(name);
  for (const CodecDescriptor* c : codecs_)
    if (wanted == c->name) return c;
  return nullptr;
}

const CodecDescriptor* Registry::find_by_container_id(std::string_view container, std::string_view id) const {
  for (const CodecDescriptor* c : codecs_)
    if (container_id(*c, container) == id) return c;
  return nullptr;
}

const TranscoderDescriptor* Registry::find_transcoder(std::string_view from, std::string_view to) const {
  if (find(from) == nullptr || find(to) == nullptr) return nullptr;
  const std::string wanted_from = canonical_dtype_name(from), wanted_to = canonical_dtype_name(to);
  for (const TranscoderDescriptor* t : transcoders_)
    if (canonical_dtype_name(t->from) == wanted_from && canonical_dtype_name(t->to) == wanted_to) return t;
  return nullptr;
}

const ContainerDescriptor* Registry::find_container(std::string_view name) const {
  const std::string wanted = canonical_dtype_name(name);
  for (const ContainerDescriptor* c : containers_)
    if (wanted == c->name) return c;
  return nullptr;
}

namespace {
bool has_extension(const ContainerDescriptor& c, const std::string& path) {
  if (c.extensions == nullptr) return false;
  // "model.gguf.zst" is a GGUF file, compressed.
  const std::string name = streams::strip_zstd_suffix(path);
  std::string_view list = c.extensions;
  while (!list.empty()) {
    const size_t space = list.find(' ');
    const std::string_view ext = list.substr(0, space);
    if (!ext.empty() && name.size() >= ext.size() &&
        canonical_dtype_name(name.substr(name.size() - ext.size())) == canonical_dtype_name(ext))
      return true;
    if (space == std::string_view::npos) break;
    list.remove_prefix(space + 1);
  }
  return false;
}
}  // namespace

const ContainerDescriptor* Registry::container_for_path(const std::string& path) const {
  for (const ContainerDescriptor* c : containers_)
    if (has_extension(*c, path)) return c;
  return nullptr;
}

Result<std::unique_ptr<Writer>> create_writer(const ContainerDescriptor& container, OutputSink& sink,
                                              const CodecCatalog& catalog, const WriterOptions& options) {
  try {
    QF_ASSIGN_OR_RETURN(auto writer, container.create_writer(sink, catalog, options));
    return guard_writer(container, std::move(writer), sink.target_path());
  } catch (...) {
    return container_threw(container, "creating a writer");
  }
}

Result<std::shared_ptr<InputFile>> Registry::open_input(const std::string& path) const {
  QF_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  if (!streams::is_zstd(file->head())) return std::shared_ptr<InputFile>(std::move(file));
  QF_ASSIGN_OR_RETURN(auto decoded, streams::ZstdInputFile::open(std::move(file)));
  return std::shared_ptr<InputFile>(std::move(decoded));
}

Result<std::unique_ptr<Reader>> Registry::open_folder_reader(const std::string& path) const {
  const ContainerDescriptor* best = nullptr;
  int32_t best_score = 0;
  std::string names;
  for (const ContainerDescriptor* c : containers_) {
    if (c->open_reader == nullptr || c->probe_folder == nullptr) continue;
    names += (names.empty() ? "" : ", ") + std::string(c->name);
    int32_t score = 0;
    try {
      score = c->probe_folder(path.c_str());
    } catch (...) {
      return container_threw(*c, "probing").with_file(path);
    }
    if (score > best_score) {
      best = c;
      best_score = score;
    }
  }
  if (best == nullptr)
    return bad_input(fmt::format("a folder no loaded container reads as a model (containers reading folders: {})",
                                 names.empty() ? std::string("none") : names))
        .with_file(path);
  try {
    auto reader = best->open_reader(path, *this);
    if (!reader.ok()) return reader.take_status().with_file(path);
    return guard_reader(*best, std::move(reader).value());
  } catch (...) {
    return container_threw(*best, "opening").with_file(path);
  }
}

Result<std::unique_ptr<Reader>> Registry::open_reader(const std::string& path) const {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return open_folder_reader(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!fs::exists(path, ec)) return usage_error("no such file").with_file(path);
    return io_error("cannot open for reading").with_file(path);
  }
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  if (head.empty()) return bad_input("empty file, not a model").with_file(path);
  // A compressed file is probed by what it decodes to.
  if (streams::is_zstd(std::as_bytes(std::span(head.data(), head.size())))) {
    QF_ASSIGN_OR_RETURN(auto compressed, MappedFile::open(path));
    QF_ASSIGN_OR_RETURN(auto decoded, streams::ZstdInputFile::decode_prefix(*compressed, 4096));
    head.assign(reinterpret_cast<const char*>(decoded.data()), decoded.size());
    if (head.empty()) return bad_input("a zstd stream that decodes to nothing, not a model").with_file(path);
  }
  // A clone without LFS leaves pointer text where the weights should be, in any format.
  if (head.rfind("version https://git-lfs", 0) == 0)
    return bad_input("git-lfs pointer, not a model: fetch the real file with `git lfs pull`").with_file(path);

  const ContainerDescriptor* best = nullptr;
  int32_t best_score = 0;
  for (const ContainerDescriptor* c : containers_) {
    if (c->open_reader == nullptr) continue;
    int32_t score = 0;
    try {
      score = c->probe(reinterpret_cast<const unsigned char*>(head.data()), head.size());
    } catch (...) {
      return container_threw(*c, "probing").with_file(path);
    }
    if (score > 0 && has_extension(*c, path)) score += 1;  // the extension breaks ties
    if (score > best_score) {
      best = c;
      best_score = score;
    }
  }
  // Nothing claims the bytes, but the extension names a container: a file too damaged for
  // its probe (too short, absurd header length) is best explained by that container's own
  // reader, which says what is wrong instead of "unrecognized".
  if (best == nullptr)
    if (const ContainerDescriptor* by_name = container_for_path(path); by_name && by_name->open_reader) best = by_name;
  if (best == nullptr) {
    std::string hex;
    for (size_t i = 0; i < std::min<size_t>(8, head.size()); ++i)
      hex += fmt::format("{:02x}", static_cast<unsigned char>(head[i]));
    return bad_input(fmt::format("unrecognized file format (first bytes {}); loaded containers: {}", hex,
                                 [&] {
                                   std::string names;
                                   for (const auto* c : containers_)
                                     names += (names.empty() ? "" : ", ") + std::string(c->name);
                                   return names.empty() ? std::string("none") : names;
                                 }()))
        .with_file(path);
  }
  try {
    auto reader = best->open_reader(path, *this);
    if (!reader.ok()) return reader.take_status().with_file(path);
    return guard_reader(*best, std::move(reader).value());
  } catch (...) {
    return container_threw(*best, "opening").with_file(path);
  }
}

}  // namespace quantflow::core
