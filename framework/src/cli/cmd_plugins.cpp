#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cli_common.hpp"
#include "cli/commands.hpp"

namespace quantflow::cli {

namespace {
std::string plural(size_t n, const char* noun) { return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s"); }
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
                                {"containers", p.containers}});
    out["failed"] = nlohmann::json::array();
    for (const auto& f : registry->failures()) out["failed"].push_back({{"file", f.path}, {"reason", f.reason}});
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
    std::cout << fmt::format("  {} {}  [{}]\n    file: {}\n", p.name, p.version, provides, p.path);
  }
  if (!registry->failures().empty()) {
    std::cout << fmt::format("\n{} failed to load:\n", plural(registry->failures().size(), "plugin"));
    for (const auto& f : registry->failures()) std::cout << fmt::format("  {}: {}\n", f.path, f.reason);
  }
  return kExitOk;
}

}  // namespace quantflow::cli
