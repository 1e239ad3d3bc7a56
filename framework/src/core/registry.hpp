// Loads plugins and indexes what they provide. The core knows codecs, containers and
// transcoders only through their descriptors; it never names a specific format or encoding.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "quantflow/container.hpp"
#include "quantflow/plugin.hpp"
#include "quantflow/status.hpp"

namespace quantflow::core {

struct PluginRecord {
  std::string path;
  std::string name;
  std::string version;
  std::string description;
  std::vector<std::string> codecs;
  std::vector<std::string> containers;
  std::vector<const TranscoderDescriptor*> transcoders;
};

struct PluginFailure {
  std::string path;
  std::string reason;
};

class Registry : public CodecCatalog {
 public:
  Registry();
  ~Registry() override;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Loads every shared library in `dir` (sorted by file name). Failures are recorded, not
  // fatal: one broken plugin must not stop the others. A missing directory is ignored.
  void load_directory(const std::string& dir);
  // Loads one file; the error is also recorded in failures().
  Status load_file(const std::string& path);

  const std::vector<PluginRecord>& plugins() const { return plugins_; }
  const std::vector<PluginFailure>& failures() const { return failures_; }

  const CodecDescriptor* find(std::string_view name) const override;
  const CodecDescriptor* find_by_container_id(std::string_view container, std::string_view id) const override;
  const std::vector<const CodecDescriptor*>& codecs() const { return codecs_; }

  // The transcoder from codec `from` to codec `to` (quantized -> quantized without a float
  // detour), or null. A transcoder's codecs may come from other plugins: it is found only
  // when both are loaded, so one whose codecs are missing is unusable, not an error.
  const TranscoderDescriptor* find_transcoder(std::string_view from, std::string_view to) const;
  // Every loaded transcoder, usable or not.
  const std::vector<const TranscoderDescriptor*>& transcoders() const { return transcoders_; }

  const ContainerDescriptor* find_container(std::string_view name) const;
  const std::vector<const ContainerDescriptor*>& containers() const { return containers_; }
  // The container whose extension list holds the path's extension, or null.
  const ContainerDescriptor* container_for_path(const std::string& path) const;
  // Maps a plain file; a zstd-compressed one (recognised by its magic, whatever its name) is
  // decoded behind the same interface (streams/zstd_input_file.hpp).
  Result<std::shared_ptr<InputFile>> open_input(const std::string& path) const override;
  // Opens `path` with the container that claims its leading bytes (extension breaks ties; a
  // trailing ".zst" is ignored for that).
  // A folder is opened by the container whose probe_folder claims it most confidently.
  Result<std::unique_ptr<Reader>> open_reader(const std::string& path) const;

 private:
  Result<std::unique_ptr<Reader>> open_folder_reader(const std::string& path) const;
  std::string provider_of_codec(std::string_view name) const;
  std::string provider_of_container(std::string_view name) const;
  std::string provider_of_transcoder(const std::string& pair) const;
  // Checks the descriptor's transcoders against each other and those already loaded.
  Status check_transcoders(const QfPluginDescriptor& desc) const;

  struct Library;
  std::vector<std::unique_ptr<Library>> libraries_;  // kept loaded for the process lifetime
  std::vector<PluginRecord> plugins_;
  std::vector<PluginFailure> failures_;
  std::vector<const CodecDescriptor*> codecs_;
  std::vector<const ContainerDescriptor*> containers_;
  std::vector<const TranscoderDescriptor*> transcoders_;
};

// "from -> to" (canonical codec names), the name a transcoder goes by in messages and listings.
std::string transcoder_pair(const TranscoderDescriptor& t);

// The container's create_writer, with an exception thrown by the plugin turned into an
// error naming the plugin file.
Result<std::unique_ptr<Writer>> create_writer(const ContainerDescriptor& container, OutputSink& sink,
                                              const CodecCatalog& catalog, const WriterOptions& options);

// The plugin directories in search order: the build/install tree's own directory next to
// the executable, then QUANTFLOW_PLUGIN_PATH (colon-separated), then `extra` (--plugin-dir).
std::vector<std::string> plugin_search_path(const std::vector<std::string>& extra);

// A registry loaded from plugin_search_path(extra).
std::unique_ptr<Registry> load_registry(const std::vector<std::string>& extra);

}  // namespace quantflow::core
