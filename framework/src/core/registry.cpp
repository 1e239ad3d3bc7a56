#include "core/registry.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

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

namespace {

// Counts larger than this are not a plugin's real tables but garbage (or a negative number
// stored unsigned); refusing them keeps the loader from walking off the end of an array.
constexpr uint32_t kMaxEntries = 1024;
// A block is a handful of elements (32, 256, a row-length group); these bounds only reject
// nonsense that would overflow size computations.
constexpr uint32_t kMaxBlockElems = 1u << 16;
constexpr uint32_t kMaxBlockBytes = 1u << 20;

Status validate_codec(const CodecDescriptor* c) {
  if (c == nullptr || c->name == nullptr || c->name[0] == '\0') return bad_input("a codec descriptor has no name");
  if (c->block_elems == 0 || c->block_bytes == 0)
    return bad_input(fmt::format("codec '{}' declares an empty block ({} elements, {} bytes)", c->name, c->block_elems,
                                 c->block_bytes));
  if (c->block_elems > kMaxBlockElems || c->block_bytes > kMaxBlockBytes)
    return bad_input(fmt::format("codec '{}' declares an implausible block ({} elements, {} bytes)", c->name,
                                 c->block_elems, c->block_bytes));
  if (c->kind > static_cast<uint32_t>(DTypeKind::quantized))
    return bad_input(fmt::format("codec '{}' declares an unknown kind {}", c->name, c->kind));
  if (c->encode == nullptr && c->decode == nullptr)
    return bad_input(fmt::format("codec '{}' has neither encode nor decode", c->name));
  if (c->n_container_ids > kMaxEntries)
    return bad_input(
        fmt::format("codec '{}' declares {} container ids (at most {})", c->name, c->n_container_ids, kMaxEntries));
  if (c->n_container_ids > 0 && c->container_ids == nullptr)
    return bad_input(fmt::format("codec '{}' declares container ids but gives none", c->name));
  for (uint32_t i = 0; i < c->n_container_ids; ++i)
    if (c->container_ids[i].container == nullptr || c->container_ids[i].id == nullptr)
      return bad_input(fmt::format("codec '{}' has a null container id at index {}", c->name, i));
  if (const QfRowScale* rs = c->row_scale;
      rs != nullptr && (rs->scale_bytes_per_row == 0 || rs->values_dtype == nullptr || rs->scale_dtype == nullptr ||
                        rs->scale_suffix == nullptr || rs->scale_suffix[0] == '\0'))
    return bad_input(fmt::format("codec '{}' has an incomplete row_scale", c->name));
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
  if ((desc->n_codecs > 0 && desc->codecs == nullptr) || (desc->n_containers > 0 && desc->containers == nullptr))
    return fail("the plugin descriptor declares codecs or containers but gives none");
  if (desc->n_codecs == 0 && desc->n_containers == 0) return fail("the plugin provides no codecs or containers");

  // Names are unique across plugins: the first plugin in search order that provides a name
  // keeps it, and a later plugin offering the same name is refused as a whole (its parts
  // may depend on each other), with both files named so the user can remove one.
  PluginRecord record{path, desc->name, desc->version, desc->description ? desc->description : "", {}, {}};
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

Result<std::unique_ptr<Writer>> create_writer(const ContainerDescriptor& container, OutputSink& sink,
                                              const CodecCatalog& catalog, const WriterOptions& options) {
  try {
    QF_ASSIGN_OR_RETURN(auto writer, container.create_writer(sink, catalog, options));
    return guard_writer(container, std::move(writer), sink.target_path());
  } catch (...) {
    return container_threw(container, "creating a writer");
  }
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
