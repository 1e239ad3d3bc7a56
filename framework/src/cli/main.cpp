#include <algorithm>
#include <sys/resource.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <string_view>

#include "cli/cli_common.hpp"
#include "cli/commands.hpp"

namespace {

void print_usage(std::ostream& os) {
  os << "quantflow " QUANTFLOW_VERSION " - convert and quantize model files (GGUF, safetensors, ...)\n\n"
     << "usage: quantflow <command> [options]\n\ncommands:\n";
  size_t width = 0;
  for (const auto& c : quantflow::cli::kCommands) width = std::max(width, std::strlen(c.name));
  for (const auto& c : quantflow::cli::kCommands)
    os << "  " << c.name << std::string(width + 2 - std::strlen(c.name), ' ') << c.summary << "\n";
  os << "\nRun 'quantflow <command> --help' for a command's options.\n"
     << "Plugins are loaded from the installation's plugin directory, then QUANTFLOW_PLUGIN_PATH\n"
     << "(colon-separated), then every --plugin-dir.\n"
     << "Exit codes: 0 success, 1 runtime failure, 2 usage error or bad input.\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace quantflow::cli;
  // Past RLIMIT_FSIZE the kernel sends SIGXFSZ, whose default action kills the process with
  // no message. Ignored, the write fails with EFBIG and is reported like any I/O error.
  std::signal(SIGXFSZ, SIG_IGN);
  // Every file of an output stays open until all are written (they are published together), so
  // a split into many shards needs more descriptors than the usual soft limit of 1024.
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  if (argc < 2) {
    print_usage(std::cerr);
    return kExitUsage;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    print_usage(std::cout);
    return kExitOk;
  }
  if (command == "--version") {
    std::cout << "quantflow " QUANTFLOW_VERSION "\n";
    return kExitOk;
  }
  for (const auto& c : kCommands) {
    if (command == c.name) {
      try {
        return c.run(argc - 1, argv + 1);
      } catch (const std::bad_alloc&) {
        std::cerr << "quantflow: error: out of memory\n";
        return kExitFailure;
      } catch (const std::exception& e) {
        std::cerr << "quantflow: error: " << e.what() << "\n";
        return kExitFailure;
      }
    }
  }
  std::cerr << "quantflow: error: unknown command '" << command << "' (see quantflow --help)\n";
  return kExitUsage;
}
