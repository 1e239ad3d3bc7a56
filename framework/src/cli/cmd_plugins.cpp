#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/cli_common.hpp"
#include "cli/commands.hpp"
#include "pipeline/engine/writer_options.hpp"

namespace quantflow::cli {

namespace {

std::string plural(size_t n, const char* noun) { return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s"); }

// What a container declares about itself: writer options, split convention, file type.
nlohmann::json conventions_json(const ContainerDescriptor& c) {
  nlohmann::json options = nlohmann::json::array();
  for (uint32_t i = 0; i < c.n_writer_options; ++i)
    options.push_back({{"key", c.writer_options[i].key},
                       {"type", pipeline::option_type_name(c.writer_options[i].type)},
                       {"default", c.writer_options[i].default_value ? c.writer_options[i].default_value : ""},
                       {"description", c.writer_options[i].description ? c.writer_options[i].description : ""}});
  nlohmann::json split;
  if (c.split != nullptr)
    split = {{"file_name", c.split->file_name},
             {"metadata_in_every_file", c.split->metadata_in_every_file != 0},
             {"split_keys", c.split->split_keys ? nlohmann::json(c.split->split_keys) : nlohmann::json()},
             {"index_suffix", c.split->index_suffix ? nlohmann::json(c.split->index_suffix) : nlohmann::json()}};
  nlohmann::json file_type;
  if (c.file_type != nullptr && c.file_type->metadata_key != nullptr) file_type = c.file_type->metadata_key;
  return {{"name", c.name},
          {"extensions", c.extensions ? c.extensions : ""},
          {"reads", c.open_reader != nullptr},
          {"writes", c.create_writer != nullptr},
          {"writer_options", options},
          {"split", split},
          {"file_type_key", file_type}};
}

void print_conventions(const ContainerDescriptor& c) {
  std::cout << fmt::format("    container {}: {}{}\n", c.name, c.open_reader ? "reads" : "",
                           c.create_writer ? (c.open_reader ? ", writes" : "writes") : "");
  for (uint32_t i = 0; i < c.n_writer_options; ++i) {
    const QfWriterOption& o = c.writer_options[i];
    std::cout << fmt::format("      --option {}=<{}> (default {}): {}\n", o.key, pipeline::option_type_name(o.type),
                             o.default_value ? o.default_value : "none", o.description ? o.description : "");
  }
  if (c.split != nullptr)
    std::cout << fmt::format(
        "      split files: {}{}\n", c.split->file_name,
        c.split->index_suffix ? fmt::format(" with an index <output>{}", c.split->index_suffix) : std::string());
  if (c.file_type != nullptr && c.file_type->metadata_key != nullptr)
    std::cout << fmt::format("      file type recorded as: {}\n", c.file_type->metadata_key);
}

// A transcoder is usable when both of its codecs are loaded (from any plugin).
bool usable(const core::Registry& registry, const TranscoderDescriptor& t) {
  return registry.find_transcoder(t.from, t.to) == &t;
}

nlohmann::json transcoders_json(const core::Registry& registry, const core::PluginRecord& p) {
  nlohmann::json out = nlohmann::json::array();
  for (const TranscoderDescriptor* t : p.transcoders)
    out.push_back({{"from", canonical_dtype_name(t->from)},
                   {"to", canonical_dtype_name(t->to)},
                   {"always_exact", always_exact(*t)},
                   {"usable", usable(registry, *t)}});
  return out;
}

void print_transcoders(const core::Registry& registry, const core::PluginRecord& p) {
  for (const TranscoderDescriptor* t : p.transcoders) {
    std::vector<std::string> missing;
    for (const char* codec : {t->from, t->to})
      if (registry.find(codec) == nullptr) missing.push_back(canonical_dtype_name(codec));
    const std::string unusable = missing.empty()
                                     ? ""
                                     : fmt::format(" (unusable: codec{} {} not loaded)", missing.size() == 1 ? "" : "s",
                                                   fmt::join(missing, " and "));
    std::cout << fmt::format("    transcoder {}: {}{}\n", core::transcoder_pair(*t),
                             always_exact(*t) ? "always exact" : "exact or falls back to f32", unusable);
  }
}

}  // namespace

int run_plugins(int argc, char** argv) {
  CommonOptions common;
  bool json = false;
  po::options_description options("options");
  options.add_options()("json", po::bool_switch(&json), "print JSON");
  common.add_to(options);
  po::variables_map vm;
  int exit_code = 0;
  if (!parse_command_line(argc, argv, "usage: quantflow plugins [--json] [--plugin-dir DIR]...", options, {}, vm,
                          exit_code))
    return exit_code;

  auto registry = common.load_registry();
  if (json) {
    nlohmann::json out;
    out["search_path"] = core::plugin_search_path(common.plugin_dirs);
    out["plugins"] = nlohmann::json::array();
    for (const auto& p : registry->plugins())
      out["plugins"].push_back({{"file", p.path},
                                {"name", p.name},
                                {"version", p.version},
                                {"description", p.description},
                                {"codecs", p.codecs},
                                {"containers", p.containers},
                                {"transcoders", transcoders_json(*registry, p)}});
    out["failed"] = nlohmann::json::array();
    for (const auto& f : registry->failures()) out["failed"].push_back({{"file", f.path}, {"reason", f.reason}});
    out["containers"] = nlohmann::json::array();
    for (const auto* c : registry->containers()) out["containers"].push_back(conventions_json(*c));
    std::cout << out.dump(2, ' ', false, kJsonInvalidUtf8) << std::endl;
    return kExitOk;
  }
  std::cout << "search path:\n";
  for (const auto& d : core::plugin_search_path(common.plugin_dirs)) std::cout << "  " << d << "\n";
  std::cout << fmt::format("\n{} loaded:\n", plural(registry->plugins().size(), "plugin"));
  for (const auto& p : registry->plugins()) {
    std::string provides;
    for (const auto& c : p.containers) provides += (provides.empty() ? "container " : ", container ") + c;
    for (const auto& c : p.codecs) provides += (provides.empty() ? "codec " : ", codec ") + c;
    if (!p.transcoders.empty())
      provides += fmt::format("{}{}", provides.empty() ? "" : ", ", plural(p.transcoders.size(), "transcoder"));
    std::cout << fmt::format("  {} {}  [{}]\n    file: {}\n", p.name, p.version, provides, p.path);
    for (const auto& name : p.containers)
      if (const ContainerDescriptor* c = registry->find_container(name)) print_conventions(*c);
    print_transcoders(*registry, p);
  }
  if (!registry->failures().empty()) {
    std::cout << fmt::format("\n{} failed to load:\n", plural(registry->failures().size(), "plugin"));
    for (const auto& f : registry->failures()) std::cout << fmt::format("  {}: {}\n", f.path, f.reason);
  }
  return kExitOk;
}

}  // namespace quantflow::cli
