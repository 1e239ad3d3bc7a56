// What every subcommand shares: exit codes, error reporting, plugin discovery options.
#pragma once

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "pipeline/engine/conversion.hpp"
#include "pipeline/engine/output_files.hpp"
#include "quantflow/status.hpp"

namespace quantflow::cli {

namespace po = boost::program_options;

enum ExitCode : int { kExitOk = 0, kExitFailure = 1, kExitUsage = 2 };

// usage, bad input and unsupported requests -> 2; I/O and internal failures -> 1.
int exit_code_for(const Status& status);

// Prints "quantflow: error: FILE: tensor 'T': reason" on one line and returns the exit code.
// When the command was given --json or --progress json, the error is also an "error" event
// on stdout. A progress bar left open is ended first.
int report_error(const Status& status);

// The "error" event of docs/json.md for `status`.
nlohmann::json error_event(const Status& status);

// Container properties as a JSON object of typed values, and as `key: value` lines.
nlohmann::json properties_json(const std::vector<Property>& properties);
void print_properties(const std::vector<Property>& properties);

// Model files may hold strings that are not UTF-8; JSON output shows them with U+FFFD
// instead of failing (nlohmann's default throws).
inline constexpr auto kJsonInvalidUtf8 = nlohmann::json::error_handler_t::replace;

// --compress for commands that write a model: stored in `spec`, applied by apply_compress.
void add_compress_option(po::options_description& options, std::string& spec);
// Sets the conversion's output compression from --compress (nothing when `spec` is empty)
// and checks every output file's name against it.
Status apply_compress(const std::string& spec, pipeline::Conversion& conversion);

// --split-max-size and --split-max-tensors for commands that write a model (llama-gguf-split's).
struct SplitOptions {
  std::string max_size, max_tensors;
  void add_to(po::options_description& options);
  bool given() const { return !max_size.empty() || !max_tensors.empty(); }
  // The limits given (none when neither option was); a bad value is a usage error.
  Result<pipeline::SplitLimits> limits() const;
};

// The model files a conversion writes (shards in order, no index; a model folder as `output`
// names it), and how a summary names them: the file, or "out-00001-of-00003.gguf and 2 more".
std::vector<std::string> written_files(const pipeline::Conversion& conversion, const std::string& output);
std::string describe_written(const pipeline::Conversion& conversion, const std::string& output);

// The valid range of --threads (0: all cores); anything else is a usage error.
inline constexpr int kMaxThreads = 4096;

// The options every command accepts, and the registry they select.
struct CommonOptions {
  std::vector<std::string> plugin_dirs;
  void add_to(po::options_description& desc);
  std::unique_ptr<core::Registry> load_registry() const;
};

// Parses argv for a subcommand; prints help and returns kExitOk, or a usage error, through
// `exit_code` when the command should stop; returns true when it should run. Options that
// `positional` names are the command's positionals: help lists only the real options, and
// errors call positionals by their usage names (IN, OUT, FILE, ...), never as options.
// `ordered`, when given, receives the options as they were given, in command-line order.
bool parse_command_line(int argc, char** argv, const std::string& usage, const po::options_description& options,
                        const po::positional_options_description& positional, po::variables_map& vm, int& exit_code,
                        std::vector<po::option>* ordered = nullptr);

}  // namespace quantflow::cli
