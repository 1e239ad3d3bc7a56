#include "core/registry.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

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

namespace {

Status validate_codec(const CodecDescriptor* c) {
  if (c == nullptr || c->name == nullptr || c->name[0] == '\0') return bad_input("a codec descriptor has no name");
  if (c->block_elems == 0 || c->block_bytes == 0)
    return bad_input(fmt::format("codec '{}' declares an empty block ({} elements, {} bytes)", c->name, c->block_elems,
                                 c->block_bytes));
  if (c->encode == nullptr && c->decode == nullptr)
    return bad_input(fmt::format("codec '{}' has neither encode nor decode", c->name));
  if (c->n_container_ids > 0 && c->container_ids == nullptr)
    return bad_input(fmt::format("codec '{}' declares container ids but gives none", c->name));
  return {};
}

Status validate_container(const ContainerDescriptor* c) {
  if (c == nullptr || c->name == nullptr || c->name[0] == '\0') return bad_input("a container descriptor has no name");
  if (c->probe == nullptr) return bad_input(fmt::format("container '{}' has no probe function", c->name));
  if (c->open_reader == nullptr && c->create_writer == nullptr)
    return bad_input(fmt::format("container '{}' can neither read nor write", c->name));
  return {};
}

}  // namespace

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
  const QfPluginDescriptor* desc = entry();
  if (desc == nullptr) return fail("the plugin returned no descriptor");
  // Only the first field is read before the version is known to match.
  const uint32_t abi = desc->abi_version;
  if (abi != QUANTFLOW_ABI_VERSION)
    return fail(
        fmt::format("plugin ABI version {} does not match this quantflow's ABI version {}; rebuild the "
                    "plugin against this SDK",
                    abi, QUANTFLOW_ABI_VERSION));
  if (desc->name == nullptr || desc->version == nullptr) return fail("the plugin descriptor has no name or version");
  if ((desc->n_codecs > 0 && desc->codecs == nullptr) || (desc->n_containers > 0 && desc->containers == nullptr))
    return fail("the plugin descriptor declares codecs or containers but gives none");

  PluginRecord record{path, desc->name, desc->version, desc->description ? desc->description : "", {}, {}};
  for (uint32_t i = 0; i < desc->n_codecs; ++i) {
    const CodecDescriptor* c = desc->codecs[i];
    if (Status s = validate_codec(c); !s.ok()) return fail(s.message());
    if (const CodecDescriptor* prior = find(c->name))
      return fail(fmt::format("codec '{}' is already provided by another plugin", prior->name));
  }
  for (uint32_t i = 0; i < desc->n_containers; ++i) {
    const ContainerDescriptor* c = desc->containers[i];
    if (Status s = validate_container(c); !s.ok()) return fail(s.message());
    if (find_container(c->name) != nullptr)
      return fail(fmt::format("container '{}' is already provided by another plugin", c->name));
  }
  for (uint32_t i = 0; i < desc->n_codecs; ++i) {
    codecs_.push_back(desc->codecs[i]);
    record.codecs.emplace_back(desc->codecs[i]->name);
  }
  for (uint32_t i = 0; i < desc->n_containers; ++i) {
    containers_.push_back(desc->containers[i]);
    record.containers.emplace_back(desc->containers[i]->name);
  }
  plugins_.push_back(std::move(record));
  libraries_.push_back(std::move(lib));
  return {};
}

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

const ContainerDescriptor* Registry::find_container(std::string_view name) const {
  const std::string wanted = canonical_dtype_name(name);
  for (const ContainerDescriptor* c : containers_)
    if (wanted == c->name) return c;
  return nullptr;
}

namespace {
bool has_extension(const ContainerDescriptor& c, const std::string& path) {
  if (c.extensions == nullptr) return false;
  std::string_view list = c.extensions;
  while (!list.empty()) {
    const size_t space = list.find(' ');
    const std::string_view ext = list.substr(0, space);
    if (!ext.empty() && path.size() >= ext.size() &&
        canonical_dtype_name(path.substr(path.size() - ext.size())) == canonical_dtype_name(ext))
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

Result<std::unique_ptr<Reader>> Registry::open_reader(const std::string& path) const {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  if (!in || fs::is_directory(path, ec)) {
    if (!fs::exists(path, ec)) return usage_error("no such file").with_file(path);
    if (fs::is_directory(path, ec)) return bad_input("is a directory, not a model file").with_file(path);
    return io_error("cannot open for reading").with_file(path);
  }
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  if (head.empty()) return bad_input("empty file, not a model").with_file(path);
  // A clone without LFS leaves pointer text where the weights should be, in any format.
  if (head.rfind("version https://git-lfs", 0) == 0)
    return bad_input("git-lfs pointer, not a model: fetch the real file with `git lfs pull`").with_file(path);

  const ContainerDescriptor* best = nullptr;
  int32_t best_score = 0;
  for (const ContainerDescriptor* c : containers_) {
    if (c->open_reader == nullptr) continue;
    int32_t score = c->probe(reinterpret_cast<const unsigned char*>(head.data()), head.size());
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
  auto reader = best->open_reader(path, *this);
  if (!reader.ok()) return reader.take_status().with_file(path);
  return reader;
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
