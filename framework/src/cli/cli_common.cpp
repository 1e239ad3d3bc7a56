#include "cli/cli_common.hpp"

#include <iostream>

namespace quantflow::cli {

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case ErrorCode::ok:
      return kExitOk;
    case ErrorCode::usage:
    case ErrorCode::bad_input:
    case ErrorCode::unsupported:
      return kExitUsage;
    case ErrorCode::io_error:
    case ErrorCode::internal:
      return kExitFailure;
  }
  return kExitFailure;
}

int report_error(const Status& status) {
  std::string line = status.to_string();
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::cerr << "quantflow: error: " << line << std::endl;
  return exit_code_for(status);
}

void CommonOptions::add_to(po::options_description& desc) {
  desc.add_options()("plugin-dir", po::value(&plugin_dirs)->composing(),
                     "also load plugins from this directory (repeatable; searched after the built-in directory and "
                     "QUANTFLOW_PLUGIN_PATH)");
}

std::unique_ptr<core::Registry> CommonOptions::load_registry() const { return core::load_registry(plugin_dirs); }

bool parse_command_line(int argc, char** argv, const std::string& usage, const po::options_description& options,
                        const po::positional_options_description& positional, po::variables_map& vm, int& exit_code) {
  po::options_description all(options);
  all.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n" << all << std::endl;
      exit_code = kExitOk;
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "quantflow: error: " << e.what() << " (see --help)" << std::endl;
    exit_code = kExitUsage;
    return false;
  }
  return true;
}

}  // namespace quantflow::cli
