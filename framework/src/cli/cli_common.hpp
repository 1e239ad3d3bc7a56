// What every subcommand shares: exit codes, error reporting, plugin discovery options.
#pragma once

#include <boost/program_options.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "quantflow/status.hpp"

namespace quantflow::cli {

namespace po = boost::program_options;

enum ExitCode : int { kExitOk = 0, kExitFailure = 1, kExitUsage = 2 };

// usage, bad input and unsupported requests -> 2; I/O and internal failures -> 1.
int exit_code_for(const Status& status);

// Prints "quantflow: error: FILE: tensor 'T': reason" on one line and returns the exit code.
int report_error(const Status& status);

// The options every command accepts, and the registry they select.
struct CommonOptions {
  std::vector<std::string> plugin_dirs;
  void add_to(po::options_description& desc);
  std::unique_ptr<core::Registry> load_registry() const;
};

// Parses argv for a subcommand; prints help and returns kExitOk, or a usage error, through
// `exit_code` when the command should stop; returns true when it should run.
bool parse_command_line(int argc, char** argv, const std::string& usage, const po::options_description& options,
                        const po::positional_options_description& positional, po::variables_map& vm, int& exit_code);

}  // namespace quantflow::cli
