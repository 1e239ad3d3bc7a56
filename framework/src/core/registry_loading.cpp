// Loading plugins into the Registry: the plugin search path, each library's ABI and descriptor
// checks, and refusing names another plugin already provides.
#include "core/registry.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <exception>
#include <filesystem>

#include <fmt/format.h>

#include "core/descriptor_checks.hpp"
#include "core/plugin_guard.hpp"

namespace quantflow::core {

namespace fs = std::filesystem;

struct Registry::Library {
  boost::dll::shared_library handle;
};

Registry::Registry() = default;
namespace {
// Plugins stay mapped until exit on purpose: descriptors and objects a plugin created may
// outlive the registry, and unload order across libraries is a trap. Reachable from a
// static, so leak checkers do not report them.
std::vector<boost::dll::shared_library>& process_lifetime_libraries() {
  static auto* libraries = new std::vector<boost::dll::shared_library>();
  return *libraries;
}
}  // namespace

Registry::~Registry() {
  for (auto& lib : libraries_) process_lifetime_libraries().push_back(std::move(lib->handle));
}

void Registry::load_directory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".so" && !entry.is_directory()) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) (void)load_file(f);
}

Status Registry::load_file(const std::string& path) {
  auto fail = [&](std::string reason) {
    failures_.push_back({path, reason});
    return bad_input(std::move(reason)).with_file(path);
  };
  auto lib = std::make_unique<Library>();
  boost::system::error_code ec;
  lib->handle.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec || !lib->handle.is_loaded()) {
    std::string why = ec ? ec.message() : "unknown loader error";
    if (const char* dl = ::dlerror()) why = dl;
    // dlerror() repeats the path, which the failure record already carries.
    if (why.rfind(path + ": ", 0) == 0) why.erase(0, path.size() + 2);
    return fail("not a loadable shared library: " + why);
  }
  if (!lib->handle.has(QUANTFLOW_PLUGIN_SYMBOL))
    return fail("not a quantflow plugin: it does not export '" QUANTFLOW_PLUGIN_SYMBOL "'");
  auto entry = lib->handle.get<const QfPluginDescriptor*()>(QUANTFLOW_PLUGIN_SYMBOL);
  const QfPluginDescriptor* desc = nullptr;
  // Exceptions must not cross the plugin boundary; one that does is this plugin's failure,
  // not the process's.
  try {
    desc = entry();
  } catch (...) {
    return fail("the plugin's entry point threw: " + current_exception_text());
  }
  if (desc == nullptr) return fail("the plugin returned no descriptor");
  // Only the first field is read before the version is known to match.
  const uint32_t abi = desc->abi_version;
  if (abi != QUANTFLOW_ABI_VERSION)
    return fail(
        fmt::format("plugin ABI version {} does not match this quantflow's ABI version {}; rebuild the "
                    "plugin against this SDK",
                    abi, QUANTFLOW_ABI_VERSION));
  if (desc->name == nullptr || desc->name[0] == '\0' || desc->version == nullptr)
    return fail("the plugin descriptor has no name or version");
  if (desc->n_codecs > kMaxEntries || desc->n_containers > kMaxEntries)
    return fail(fmt::format("the plugin descriptor declares {} codecs and {} containers (at most {} each)",
                            desc->n_codecs, desc->n_containers, kMaxEntries));
  if (desc->n_transcoders > kMaxEntries)
    return fail(
        fmt::format("the plugin descriptor declares {} transcoders (at most {})", desc->n_transcoders, kMaxEntries));
  if ((desc->n_codecs > 0 && desc->codecs == nullptr) || (desc->n_containers > 0 && desc->containers == nullptr))
    return fail("the plugin descriptor declares codecs or containers but gives none");
  if (desc->n_transcoders > 0 && desc->transcoders == nullptr)
    return fail("the plugin descriptor declares transcoders but gives none");
  if (desc->n_codecs == 0 && desc->n_containers == 0 && desc->n_transcoders == 0)
    return fail("the plugin provides no codecs, containers or transcoders");

  // Names are unique across plugins: the first plugin in search order that provides a name
  // keeps it, and a later plugin offering the same name is refused as a whole (its parts
  // may depend on each other), with both files named so the user can remove one.
  PluginRecord record{path, desc->name, desc->version, desc->description ? desc->description : "", {}, {}, {}};
  std::vector<std::string_view> own_codecs, own_containers;
  for (uint32_t i = 0; i < desc->n_codecs; ++i) {
    const CodecDescriptor* c = desc->codecs[i];
    if (Status s = validate_codec(c); !s.ok()) return fail(s.message());
    if (find(c->name) != nullptr)
      return fail(fmt::format("codec '{}' is already provided by {}; the first plugin in search order wins", c->name,
                              provider_of_codec(c->name)));
    if (std::find(own_codecs.begin(), own_codecs.end(), c->name) != own_codecs.end())
      return fail(fmt::format("codec '{}' is listed twice", c->name));
    own_codecs.emplace_back(c->name);
  }
  for (uint32_t i = 0; i < desc->n_containers; ++i) {
    const ContainerDescriptor* c = desc->containers[i];
    if (Status s = validate_container(c); !s.ok()) return fail(s.message());
    if (find_container(c->name) != nullptr)
      return fail(fmt::format("container '{}' is already provided by {}; the first plugin in search order wins",
                              c->name, provider_of_container(c->name)));
    if (std::find(own_containers.begin(), own_containers.end(), c->name) != own_containers.end())
      return fail(fmt::format("container '{}' is listed twice", c->name));
    own_containers.emplace_back(c->name);
  }
  if (Status s = check_transcoders(*desc); !s.ok()) return fail(s.message());
  for (uint32_t i = 0; i < desc->n_codecs; ++i) {
    codecs_.push_back(desc->codecs[i]);
    record.codecs.emplace_back(desc->codecs[i]->name);
  }
  for (uint32_t i = 0; i < desc->n_containers; ++i) {
    containers_.push_back(desc->containers[i]);
    record.containers.emplace_back(desc->containers[i]->name);
  }
  for (uint32_t i = 0; i < desc->n_transcoders; ++i) {
    transcoders_.push_back(desc->transcoders[i]);
    record.transcoders.push_back(desc->transcoders[i]);
  }
  plugins_.push_back(std::move(record));
  libraries_.push_back(std::move(lib));
  return {};
}

std::string Registry::provider_of_codec(std::string_view name) const {
  const std::string wanted = canonical_dtype_name(name);
  for (const auto& p : plugins_)
    if (std::find(p.codecs.begin(), p.codecs.end(), wanted) != p.codecs.end()) return p.path;
  return "another plugin";
}

std::string Registry::provider_of_container(std::string_view name) const {
  const std::string wanted = canonical_dtype_name(name);
  for (const auto& p : plugins_)
    if (std::find(p.containers.begin(), p.containers.end(), wanted) != p.containers.end()) return p.path;
  return "another plugin";
}

std::vector<std::string> plugin_search_path(const std::vector<std::string>& extra) {
  std::vector<std::string> dirs;
  boost::system::error_code ec;
  const auto exe = boost::dll::program_location(ec);
  if (!ec)
    dirs.push_back((fs::path(exe.parent_path().string()) / ".." / QUANTFLOW_PLUGIN_SUBDIR).lexically_normal().string());
  if (const char* env = std::getenv("QUANTFLOW_PLUGIN_PATH")) {
    std::string_view list = env;
    while (!list.empty()) {
      const size_t colon = list.find(':');
      if (colon != 0) dirs.emplace_back(list.substr(0, colon));
      if (colon == std::string_view::npos) break;
      list.remove_prefix(colon + 1);
    }
  }
  dirs.insert(dirs.end(), extra.begin(), extra.end());
  return dirs;
}

std::unique_ptr<Registry> load_registry(const std::vector<std::string>& extra) {
  auto registry = std::make_unique<Registry>();
  std::vector<std::string> seen;
  for (const auto& dir : plugin_search_path(extra)) {
    std::error_code ec;
    const std::string canon = fs::weakly_canonical(dir, ec).string();
    if (std::find(seen.begin(), seen.end(), canon) != seen.end()) continue;
    seen.push_back(canon);
    registry->load_directory(dir);
  }
  return registry;
}

}  // namespace quantflow::core
