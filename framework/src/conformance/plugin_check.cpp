// check_plugin: load the one file, then run the plugin's, each codec's, each container's and
// each transcoder's checks in report order.
#include <stdlib.h>

#include <filesystem>

#include <fmt/format.h>

#include "conformance/codec_checks.hpp"
#include "conformance/conformance.hpp"
#include "conformance/container_checks.hpp"
#include "conformance/descriptor_checks.hpp"
#include "conformance/isolation.hpp"
#include "conformance/transcoder_checks.hpp"
#include "core/registry.hpp"
#include "quantflow/plugin.hpp"

namespace quantflow::conformance {

namespace fs = std::filesystem;

namespace {

// The plugin's own codecs first, then those of the plugins on the search path: a container
// plugin's round trip writes bundled encodings it does not provide itself.
class ChainedCatalog final : public CodecCatalog {
 public:
  ChainedCatalog(const CodecCatalog& first, const CodecCatalog& second) : first_(first), second_(second) {}
  const CodecDescriptor* find(std::string_view name) const override {
    const CodecDescriptor* c = first_.find(name);
    return c ? c : second_.find(name);
  }
  const CodecDescriptor* find_by_container_id(std::string_view container, std::string_view id) const override {
    const CodecDescriptor* c = first_.find_by_container_id(container, id);
    return c ? c : second_.find_by_container_id(container, id);
  }

 private:
  const CodecCatalog& first_;
  const CodecCatalog& second_;
};

std::string canonical(const std::string& path) {
  std::error_code ec;
  const fs::path p = fs::weakly_canonical(path, ec);
  return ec ? path : p.string();
}

// Who else provides each codec and container name on the search path (not this file).
struct OtherOwners {
  NameOwners codecs;
  NameOwners containers;
  NameOwners transcoders;  // "from -> to"
};

OtherOwners other_owners(const core::Registry& search_path, const std::string& path) {
  OtherOwners owners;
  const std::string self = canonical(path);
  for (const auto& p : search_path.plugins()) {
    if (canonical(p.path) == self) continue;
    for (const auto& name : p.codecs) owners.codecs.emplace(name, p.path);
    for (const auto& name : p.containers) owners.containers.emplace(name, p.path);
    for (const TranscoderDescriptor* t : p.transcoders) owners.transcoders.emplace(core::transcoder_pair(*t), p.path);
  }
  return owners;
}

// A fresh, empty folder for the container checks' files, removed with this object.
class WorkDir {
 public:
  WorkDir() {
    std::string pattern = (fs::temp_directory_path() / "quantflow-plugin-check-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~WorkDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void append(std::vector<Check>& to, std::vector<Check> from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

}  // namespace

PluginReport check_plugin(const std::string& path, const CheckOptions& options) {
  PluginReport report;
  report.file = path;
  // First in a child: a plugin whose static initialisers crash fails the load check instead
  // of ending this process.
  const Outcome trial = run_isolated([&] {
    core::Registry registry;
    const Status loaded = registry.load_file(path);
    return loaded.ok() ? pass({}) : fail(loaded.message());
  });
  if (trial.verdict != Verdict::passed) {
    report.checks.push_back({"plugin", "", "load", Verdict::failed, trial.reason});
    return report;
  }
  core::Registry own;
  if (Status loaded = own.load_file(path); !loaded.ok()) {
    report.checks.push_back({"plugin", "", "load", Verdict::failed, loaded.message()});
    return report;
  }
  const core::PluginRecord& plugin = own.plugins().front();
  report.loaded = true;
  report.plugin_name = plugin.name;
  report.plugin_version = plugin.version;
  report.plugin_description = plugin.description;
  report.checks.push_back(
      {"plugin", "", "load", Verdict::passed,
       fmt::format("loads, exports {}, ABI version {} matches", QUANTFLOW_PLUGIN_SYMBOL, QUANTFLOW_ABI_VERSION)});
  report.checks.push_back(check_plugin_descriptor(plugin));

  const auto search_path = core::load_registry(options.plugin_dirs);
  const OtherOwners others = other_owners(*search_path, path);
  for (const CodecDescriptor* codec : own.codecs()) append(report.checks, check_codec(*codec, others.codecs));
  // Containers write, and transcoders convert between, codecs other plugins may provide.
  const ChainedCatalog catalog(own, *search_path);
  for (const ContainerDescriptor* container : own.containers()) {
    const WorkDir work;
    append(report.checks, check_container(*container, catalog, others.containers, work.path()));
  }
  for (const TranscoderDescriptor* transcoder : own.transcoders())
    append(report.checks, check_transcoder(*transcoder, catalog, others.transcoders));
  return report;
}

}  // namespace quantflow::conformance
