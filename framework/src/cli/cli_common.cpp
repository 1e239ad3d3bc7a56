#include "cli/cli_common.hpp"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "cli/progress.hpp"
#include "core/metadata_format.hpp"

namespace quantflow::cli {

namespace {

bool g_json_errors = false;

// The names positionals have in usage lines; the option names behind them are internal.
struct PositionalName {
  std::string_view option;
  std::string_view usage;
};
constexpr PositionalName kPositionalNames[] = {
    {"input", "IN"},
    {"output", "OUT"},
    {"file", "FILE"},
    {"a", "A"},
    {"b", "B"},
    {"recipe", "RECIPE"},
    {"args", "IN [OUT] TYPE [NTHREADS]"},
};

std::string usage_name(const std::string& option) {
  for (const auto& p : kPositionalNames)
    if (p.option == option) return std::string(p.usage);
  return option;
}

std::set<std::string> positional_names(const po::positional_options_description& positional) {
  std::set<std::string> names;
  const unsigned count = std::min(positional.max_total_count(), 16u);
  for (unsigned i = 0; i < count; ++i) names.insert(positional.name_for_position(i));
  return names;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// Boost's messages name positionals as options ("the option '--input' is required").
std::string user_message(const po::error& e, const std::set<std::string>& positionals) {
  if (const auto* missing = dynamic_cast<const po::required_option*>(&e)) {
    std::string name = missing->get_option_name();
    while (!name.empty() && name.front() == '-') name.erase(0, 1);
    if (positionals.count(name)) return "missing " + usage_name(name);
  }
  std::string text = e.what();
  for (const auto& name : positionals) replace_all(text, "'--" + name + "'", usage_name(name));
  return text;
}

Status check_threads(const po::variables_map& vm) {
  if (!vm.count("threads")) return {};
  const int threads = vm["threads"].as<int>();
  if (threads < 0 || threads > kMaxThreads)
    return usage_error("--threads must be 0 (all cores) or a count from 1 to " + std::to_string(kMaxThreads) +
                       ", not " + std::to_string(threads));
  return {};
}

}  // namespace

nlohmann::json properties_json(const std::vector<Property>& properties) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : properties) out[key] = core::meta_value_to_json(value);
  return out;
}

void print_properties(const std::vector<Property>& properties) {
  for (const auto& [key, value] : properties)
    std::cout << fmt::format("{:<11} {}\n", key + ":", core::format_meta_value(value));
}

nlohmann::json error_event(const Status& status) {
  nlohmann::json event = {{"event", "error"},
                          {"code", error_code_name(status.code())},
                          {"exit_code", exit_code_for(status)},
                          {"message", status.message()}};
  event["file"] = status.file().empty() ? nlohmann::json() : nlohmann::json(status.file());
  event["tensor"] = status.tensor().empty() ? nlohmann::json() : nlohmann::json(status.tensor());
  return event;
}

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
  end_progress_line();
  std::cerr << "quantflow: error: " << line << std::endl;
  if (g_json_errors) std::cout << error_event(status).dump(-1, ' ', false, kJsonInvalidUtf8) << std::endl;
  return exit_code_for(status);
}

void CommonOptions::add_to(po::options_description& desc) {
  desc.add_options()("plugin-dir", po::value(&plugin_dirs)->composing(),
                     "also load plugins from this directory (repeatable; searched after the built-in directory and "
                     "QUANTFLOW_PLUGIN_PATH)");
}

std::unique_ptr<core::Registry> CommonOptions::load_registry() const { return core::load_registry(plugin_dirs); }

bool parse_command_line(int argc, char** argv, const std::string& usage, const po::options_description& options,
                        const po::positional_options_description& positional, po::variables_map& vm, int& exit_code,
                        std::vector<po::option>* ordered) {
  const std::set<std::string> positionals = positional_names(positional);
  po::options_description all(options);
  all.add_options()("help,h", "show this help");
  po::options_description visible("options");
  for (const auto& option : all.options())
    if (!positionals.count(option->long_name())) visible.add(option);
  try {
    const po::parsed_options parsed = po::command_line_parser(argc, argv).options(all).positional(positional).run();
    po::store(parsed, vm);
    if (ordered != nullptr) *ordered = parsed.options;
    if (vm.count("help")) {
      std::cout << usage << "\n" << visible << std::endl;
      exit_code = kExitOk;
      return false;
    }
    g_json_errors = (vm.count("json") && vm["json"].as<bool>()) ||
                    (vm.count("progress") && vm["progress"].as<std::string>() == "json");
    po::notify(vm);
  } catch (const po::error& e) {
    exit_code = report_error(usage_error(user_message(e, positionals) + " (see --help)"));
    return false;
  }
  if (Status s = check_threads(vm); !s.ok()) {
    exit_code = report_error(s);
    return false;
  }
  return true;
}

void add_compress_option(po::options_description& options, std::string& spec) {
  options.add_options()("compress", po::value(&spec),
                        "compress the output as one zstd stream: zstd or zstd:LEVEL (1-19, default 3), or none; an "
                        "output name ending in .zst implies zstd");
}

std::vector<std::string> written_files(const pipeline::Conversion& conversion, const std::string& output) {
  if (!conversion.folder.empty()) return {output};
  std::vector<std::string> paths;
  for (const auto& file : conversion.files) paths.push_back(file.path);
  return paths;
}

std::string describe_written(const pipeline::Conversion& conversion, const std::string& output) {
  if (!conversion.folder.empty() || conversion.files.empty()) return output;
  if (conversion.files.size() == 1) return conversion.files.front().path;
  return fmt::format("{} and {} more", conversion.files.front().path, conversion.files.size() - 1);
}

void SplitOptions::add_to(po::options_description& options) {
  options.add_options()("split-max-size", po::value(&max_size),
                        "split the output into files of at most this much tensor data, as llama-gguf-split does: "
                        "512M, 2G (10^6, 10^9 bytes), 4GiB or bytes")(
      "split-max-tensors", po::value(&max_tensors), "split the output into files of at most this many tensors");
}

Result<pipeline::SplitLimits> SplitOptions::limits() const {
  pipeline::SplitLimits limits;
  if (!max_size.empty()) {
    QF_ASSIGN_OR_RETURN(limits.max_bytes, pipeline::parse_split_size(max_size));
  }
  if (!max_tensors.empty()) {
    const bool digits = max_tensors.size() <= 9 && std::all_of(max_tensors.begin(), max_tensors.end(),
                                                               [](unsigned char c) { return std::isdigit(c); });
    if (!digits || std::stoull(max_tensors) == 0)
      return usage_error(fmt::format("--split-max-tensors must be a count of at least 1, not '{}'", max_tensors));
    limits.max_tensors = std::stoull(max_tensors);
  }
  return limits;
}

Status apply_compress(const std::string& spec, pipeline::Conversion& conversion) {
  if (!spec.empty()) {
    QF_ASSIGN_OR_RETURN(conversion.compression, streams::parse_compression(spec));
  }
  for (const auto& file : conversion.files)
    QF_RETURN_IF_ERROR(streams::output_compression_for(file.path, conversion.compression).status());
  return {};
}

}  // namespace quantflow::cli
