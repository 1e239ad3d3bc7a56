#include "cli/quantize_args.hpp"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace quantflow::cli {

namespace {

namespace fs = std::filesystem;

bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

Status read_tensor_type_file(const std::string& path, std::vector<std::pair<std::string, std::string>>& out) {
  std::ifstream in(path);
  if (!in)
    return usage_error(fmt::format("--tensor-type-file: cannot open it: {}", std::strerror(errno))).with_file(path);
  for (std::string item; in >> item;) {
    auto pair = split_assignment(item, "each item", "PATTERN=TYPE");
    if (!pair.ok()) return usage_error("--tensor-type-file: " + pair.status().message()).with_file(path);
    out.push_back(*pair);
  }
  if (in.bad()) return io_error("--tensor-type-file: reading failed").with_file(path);
  return {};
}

// llama-quantize's default, <dir of IN>/ggml-model-TYPE.gguf; a model folder's output goes beside
// it, named after it (model/ -> model-Q4_K_M.gguf), whether or not the path ends in '/'.
std::string default_output(const std::string& input, const std::string& type) {
  std::error_code ec;
  if (!fs::is_directory(input, ec)) return (fs::path(input).parent_path() / ("ggml-model-" + type + ".gguf")).string();
  fs::path folder(input);
  if (!folder.has_filename()) folder = folder.parent_path();
  return (folder.parent_path() / (folder.filename().string() + "-" + type + ".gguf")).string();
}

}  // namespace

Result<QuantizeArgs> resolve_positionals(const std::vector<std::string>& positionals,
                                         std::optional<pipeline::Preset>& preset) {
  if (positionals.size() < 2 || positionals.size() > 4)
    return usage_error("expected IN.gguf [OUT.gguf] TYPE [NTHREADS] (see --help)");
  QuantizeArgs args;
  args.input = positionals[0];
  size_t next = 1;
  if (auto as_type = pipeline::load_preset(positionals[1]); as_type.ok()) {
    args.type = positionals[1];
    // llama-quantize names the file after the spelling its table matched: an alias stays an alias.
    std::string spelled = as_type->name;
    for (const auto& alias : as_type->aliases)
      if (strcasecmp(alias.c_str(), positionals[1].c_str()) == 0) spelled = alias;
    args.output = default_output(args.input, spelled);
    preset = std::move(as_type).value();
    args.output_named = false;
    next = 2;
  } else {
    if (positionals.size() < 3) return usage_error("missing the quantization TYPE after the output file");
    args.output = positionals[1];
    args.type = positionals[2];
    auto loaded = pipeline::load_preset(args.type);
    if (!loaded.ok()) return loaded.take_status();
    preset = std::move(loaded).value();
    next = 3;
  }
  if (next < positionals.size()) {
    if (!all_digits(positionals[next]))
      return usage_error(fmt::format("NTHREADS must be a number, not '{}'", positionals[next]));
    args.threads = std::stoi(positionals[next]);
    ++next;
  }
  if (next != positionals.size()) return usage_error("too many arguments (see --help)");
  return args;
}

Result<std::pair<std::string, std::string>> split_assignment(const std::string& text, const char* option,
                                                             const char* form) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    return usage_error(fmt::format("{} '{}' must be {}", option, text, form));
  return std::pair{text.substr(0, eq), text.substr(eq + 1)};
}

Result<std::vector<std::pair<std::string, std::string>>> ordered_tensor_types(
    const std::vector<boost::program_options::option>& given) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& option : given) {
    if (option.value.empty()) continue;
    if (option.string_key == "tensor-type") {
      QF_ASSIGN_OR_RETURN(auto pair, split_assignment(option.value.front(), "--tensor-type", "PATTERN=TYPE"));
      out.push_back(std::move(pair));
    } else if (option.string_key == "tensor-type-file") {
      QF_RETURN_IF_ERROR(read_tensor_type_file(option.value.front(), out));
    }
  }
  return out;
}

}  // namespace quantflow::cli
