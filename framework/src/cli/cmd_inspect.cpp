#include <iostream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "streams/compression.hpp"
#include "cli/cli_common.hpp"
#include "cli/commands.hpp"
#include "core/metadata_format.hpp"
#include "core/units.hpp"

namespace quantflow::cli {

namespace {

struct DTypeTotals {
  size_t tensors = 0;
  uint64_t elements = 0;
  uint64_t bytes = 0;
};

std::map<std::string, DTypeTotals> totals_by_dtype(const std::vector<TensorInfo>& tensors) {
  std::map<std::string, DTypeTotals> by;
  for (const auto& t : tensors) {
    auto& d = by[t.dtype.name];
    ++d.tensors;
    d.elements += element_count(t.shape);
    d.bytes += t.n_bytes;
  }
  return by;
}

void print_json(const std::string& path, const Reader& reader, size_t max_elements) {
  nlohmann::json out;
  out["file"] = path;
  out["container"] = reader.container();
  out["version"] = reader.version();
  out["compression"] = streams::file_compression(path);
  out["properties"] = properties_json(reader.properties());
  out["metadata"] = nlohmann::json::array();
  for (const auto& e : reader.metadata().entries()) {
    nlohmann::json entry = {{"key", e.key}, {"type", core::meta_type_label(e.value)}};
    if (e.value.type == MetaType::array) entry["count"] = e.value.elements.size();
    entry["value"] = core::meta_value_to_json(e.value, max_elements);
    out["metadata"].push_back(entry);
  }
  out["tensors"] = nlohmann::json::array();
  uint64_t elements = 0, bytes = 0;
  for (const auto& t : reader.tensors()) {
    out["tensors"].push_back(
        {{"name", t.name}, {"dtype", t.dtype.name}, {"shape", t.shape}, {"offset", t.offset}, {"bytes", t.n_bytes}});
    elements += element_count(t.shape);
    bytes += t.n_bytes;
  }
  nlohmann::json by = nlohmann::json::object();
  for (const auto& [name, d] : totals_by_dtype(reader.tensors()))
    by[name] = {{"tensors", d.tensors}, {"elements", d.elements}, {"bytes", d.bytes}};
  out["totals"] = {{"tensors", reader.tensors().size()}, {"elements", elements}, {"bytes", bytes}, {"by_dtype", by}};
  std::cout << out.dump(2, ' ', false, kJsonInvalidUtf8) << std::endl;
}

void print_text(const std::string& path, const Reader& reader, size_t max_elements) {
  std::cout << fmt::format("file:       {}\n", path);
  std::cout << fmt::format("container:  {}{}\n", reader.container(),
                           reader.version().empty() ? "" : " (version " + reader.version() + ")");
  if (const std::string compression = streams::file_compression(path); !compression.empty())
    std::cout << fmt::format("compression: {} (the sizes below are decoded bytes)\n", compression);
  print_properties(reader.properties());

  const auto& meta = reader.metadata().entries();
  std::cout << fmt::format("\nmetadata ({} entries):\n", meta.size());
  size_t key_width = 0;
  for (const auto& e : meta) key_width = std::max(key_width, e.key.size());
  for (const auto& e : meta) {
    std::string label = core::meta_type_label(e.value);
    if (e.value.type == MetaType::array) label += fmt::format("[{}]", e.value.elements.size());
    std::cout << fmt::format("  {:<{}}  {:<16} {}\n", e.key, key_width, label,
                             core::format_meta_value(e.value, max_elements));
  }

  const auto& tensors = reader.tensors();
  std::cout << fmt::format("\ntensors ({}):\n", tensors.size());
  size_t name_width = 4;
  for (const auto& t : tensors) name_width = std::max(name_width, t.name.size());
  std::cout << fmt::format("  {:>5}  {:<{}}  {:<8} {:<20} {:>12} {:>12}\n", "#", "name", name_width, "dtype", "shape",
                           "offset", "bytes");
  uint64_t elements = 0, bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    std::cout << fmt::format("  {:>5}  {:<{}}  {:<8} {:<20} {:>12} {:>12}\n", i, t.name, name_width, t.dtype.name,
                             shape_to_string(t.shape), t.offset, t.n_bytes);
    elements += element_count(t.shape);
    bytes += t.n_bytes;
  }
  std::cout << fmt::format("\ntotals: {} tensors, {} parameters, {} of tensor data\n", tensors.size(), elements,
                           core::format_size(bytes));
  for (const auto& [name, d] : totals_by_dtype(tensors))
    std::cout << fmt::format("  {:<8} {:>5} tensors {:>14} parameters {:>12}\n", name, d.tensors, d.elements,
                             core::format_size(d.bytes));
}

}  // namespace

int run_inspect(int argc, char** argv) {
  CommonOptions common;
  std::string path;
  bool json = false;
  size_t max_elements = 8;
  po::options_description options("options");
  options.add_options()("file", po::value(&path)->required(), "the model file to inspect")(
      "json", po::bool_switch(&json), "print JSON instead of text")(
      "max-array", po::value(&max_elements)->default_value(8), "show at most this many elements of a metadata array");
  common.add_to(options);
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  int exit_code = 0;
  if (!parse_command_line(argc, argv,
                          "usage: quantflow inspect FILE [--json]\n\n"
                          "Shows the container and version, metadata (long arrays summarized), every tensor\n"
                          "(name, dtype, shape outermost first, offset, bytes) and totals.",
                          options, positional, vm, exit_code))
    return exit_code;

  auto registry = common.load_registry();
  auto reader = registry->open_reader(path);
  if (!reader.ok()) return report_error(reader.status());
  if (json)
    print_json(path, **reader, max_elements);
  else
    print_text(path, **reader, max_elements);
  return kExitOk;
}

}  // namespace quantflow::cli
