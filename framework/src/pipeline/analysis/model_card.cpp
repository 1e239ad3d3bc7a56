#include "pipeline/analysis/model_card.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "core/atomic_output.hpp"
#include "core/units.hpp"

namespace quantflow::pipeline {
namespace {

struct OutputFacts {
  std::string container;
  std::string version;
  std::string name;
  std::string architecture;
  uint64_t parameters = 0;
  size_t tensors = 0;
  uint64_t bytes = 0;                                          // every file, headers included
  std::map<std::string, std::pair<size_t, uint64_t>> by_type;  // encoding -> (tensors, bytes)
};

std::string metadata_string(const Metadata& metadata, std::string_view key) {
  const MetaValue* value = metadata.find(key);
  return value != nullptr && value->type == MetaType::string ? value->text : std::string();
}

// Whether `reader` already reads every file of a split model (its first file opens them all,
// and a later one alone is refused).
bool reads_every_shard(const Reader& reader) {
  const auto properties = reader.properties();
  return std::any_of(properties.begin(), properties.end(), [](const Property& p) { return p.key == "shards"; });
}

Result<OutputFacts> read_facts(const core::Registry& registry, const std::vector<std::string>& files) {
  OutputFacts facts;
  for (const auto& file : files) facts.bytes += std::filesystem::file_size(file);
  for (const auto& file : files) {
    QF_ASSIGN_OR_RETURN(auto reader, registry.open_reader(file));
    if (facts.container.empty()) {
      facts.container = reader->container();
      facts.version = reader->version();
      facts.name = metadata_string(reader->metadata(), "general.name");
      facts.architecture = metadata_string(reader->metadata(), "general.architecture");
    }
    for (const auto& tensor : reader->tensors()) {
      facts.parameters += element_count(tensor.shape);
      auto& [count, bytes] = facts.by_type[tensor.dtype.name];
      ++count;
      bytes += tensor.n_bytes;
      ++facts.tensors;
    }
    if (reads_every_shard(*reader)) break;
  }
  return facts;
}

std::string format_parameters(uint64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.2f} B", static_cast<double>(n) / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.2f} M", static_cast<double>(n) / 1e6);
  if (n >= 1'000) return fmt::format("{:.2f} K", static_cast<double>(n) / 1e3);
  return std::to_string(n);
}

std::string dominant_encoding(const OutputFacts& facts) {
  std::string best;
  uint64_t most = 0;
  for (const auto& [type, count_bytes] : facts.by_type)
    if (count_bytes.second > most) {
      most = count_bytes.second;
      best = type;
    }
  return best;
}

// Lower-case, so that a preset (Q4_K_M) and an encoding (q4_k_m) give one tag; these names are
// plain YAML scalars, so no quoting is needed.
std::string tag(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

Result<std::string> render_model_card(const core::Registry& registry, const ModelCardRequest& request) {
  if (request.files.empty()) return usage_error("a model card needs at least one output file");
  QF_ASSIGN_OR_RETURN(OutputFacts facts, read_facts(registry, request.files));
  const std::string quantization = request.quantization.empty() ? dominant_encoding(facts) : request.quantization;
  const std::string title =
      facts.name.empty() ? std::filesystem::path(request.files.front()).stem().string() : facts.name;

  std::string card = "---\ntags:\n- quantflow\n";
  card += fmt::format("- {}\n", tag(facts.container));
  if (!facts.architecture.empty()) card += fmt::format("- {}\n", tag(facts.architecture));
  if (!quantization.empty()) card += fmt::format("- {}\n", tag(quantization));
  card += "---\n\n";
  card += fmt::format("# {}\n\n", title);
  std::string sources;
  for (const auto& s : request.sources)
    sources += fmt::format("{}`{}`", sources.empty() ? "" : ", ", std::filesystem::path(s).filename().string());
  card += fmt::format("Written by quantflow {}{}.\n\n", QUANTFLOW_VERSION, sources.empty() ? "" : " from " + sources);

  std::string types;
  for (const auto& [type, count_bytes] : facts.by_type)
    types += fmt::format("{}{} ({})", types.empty() ? "" : ", ", type, count_bytes.first);
  std::string files;
  for (const auto& f : request.files)
    files += fmt::format("{}`{}`", files.empty() ? "" : ", ", std::filesystem::path(f).filename().string());
  const std::string container =
      facts.version.empty() ? facts.container : fmt::format("{} v{}", facts.container, facts.version);

  card += "| property | value |\n|---|---|\n";
  card += fmt::format("| architecture | {} |\n", facts.architecture.empty() ? "unknown" : facts.architecture);
  card += fmt::format("| parameters | {} ({}) |\n", format_parameters(facts.parameters), facts.parameters);
  card += fmt::format("| quantization | {} |\n", quantization.empty() ? "none" : quantization);
  card += fmt::format("| tensor encodings | {} |\n", types.empty() ? "none" : types);
  card += fmt::format("| size | {} ({} bytes) |\n", core::format_size(facts.bytes), facts.bytes);
  card += fmt::format("| tensors | {} |\n", facts.tensors);
  card += fmt::format("| files | {} |\n", files);
  card += fmt::format("| container | {} |\n", container);
  return card;
}

std::string model_card_path(const std::string& output) {
  return (std::filesystem::path(output).parent_path() / "README.md").lexically_normal().string();
}

Status check_model_card_target(const std::string& output, bool replace_existing) {
  const std::string card = model_card_path(output);
  if (std::filesystem::path(output).lexically_normal() == std::filesystem::path(card) || core::same_file(output, card))
    return usage_error("the model card would replace the output itself; name the output something else")
        .with_file(card);
  std::error_code ec;
  if (!replace_existing && std::filesystem::exists(std::filesystem::symlink_status(card, ec)))
    return usage_error(
               "a file of this name already exists and quantflow replaces only files it was asked to write "
               "(pass --force to replace it with the model card)")
        .with_file(card);
  return {};
}

Result<std::string> write_model_card(const core::Registry& registry, const ModelCardRequest& request) {
  QF_ASSIGN_OR_RETURN(std::string card, render_model_card(registry, request));
  const std::string path = model_card_path(request.files.front());
  for (const auto& file : request.files) QF_RETURN_IF_ERROR(check_model_card_target(file, request.replace_existing));
  QF_RETURN_IF_ERROR(core::write_file_atomically(path, card, request.sources));
  return path;
}

}  // namespace quantflow::pipeline
