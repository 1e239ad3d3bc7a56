#include "pipeline/engine/output_files.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>

#include <fmt/args.h>
#include <fmt/format.h>

#include "core/counting_sink.hpp"

namespace quantflow::pipeline {

namespace {

std::vector<std::string> split_words(const char* text) {
  std::vector<std::string> words;
  if (text == nullptr) return words;
  std::istringstream in(text);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

Result<std::string> split_file_name(const QfSplitConvention& split, const std::string& path, size_t number,
                                    size_t count) {
  const std::filesystem::path p(path);
  try {
    return fmt::format(fmt::runtime(split.file_name), fmt::arg("stem", (p.parent_path() / p.stem()).string()),
                       fmt::arg("number", number), fmt::arg("count", count),
                       fmt::arg("extension", p.extension().string()));
  } catch (const fmt::format_error& e) {
    return internal_error(
        fmt::format("the container's split file name pattern '{}' is invalid: {}", split.file_name, e.what()));
  }
}

// llama-gguf-split counts each tensor padded to GGUF's default alignment.
constexpr uint64_t kSplitTensorPadding = 32;

struct SizeUnit {
  std::string_view suffix;  // upper case
  double bytes;
};
constexpr SizeUnit kSplitSizeUnits[] = {
    {.suffix = "", .bytes = 1},         {.suffix = "B", .bytes = 1},        {.suffix = "K", .bytes = 1e3},
    {.suffix = "KB", .bytes = 1e3},     {.suffix = "M", .bytes = 1e6},      {.suffix = "MB", .bytes = 1e6},
    {.suffix = "G", .bytes = 1e9},      {.suffix = "GB", .bytes = 1e9},     {.suffix = "T", .bytes = 1e12},
    {.suffix = "TB", .bytes = 1e12},    {.suffix = "KIB", .bytes = 0x1p10}, {.suffix = "MIB", .bytes = 0x1p20},
    {.suffix = "GIB", .bytes = 0x1p30}, {.suffix = "TIB", .bytes = 0x1p40},
};

Result<uint64_t> measure_file(const core::Registry& registry, const ContainerDescriptor& container,
                              const OutputFile& file) {
  core::CountingSink sink(file.path);
  auto writer_result = core::create_writer(container, sink, registry, file.plan.writer_options);
  if (!writer_result.ok()) return writer_result.take_status().with_file(file.path);
  auto writer = std::move(writer_result).value();
  QF_ASSIGN_OR_RETURN(auto order, writer->begin(file.plan.metadata, file.plan.target_infos()));
  uint64_t largest = 0;
  for (const auto& job : file.plan.jobs) largest = std::max(largest, job.target.n_bytes);
  // calloc'd zero pages are shared until written, and the counting sink never reads them.
  std::unique_ptr<std::byte, decltype(&std::free)> zeros(static_cast<std::byte*>(std::calloc(largest + 1, 1)),
                                                         &std::free);
  if (!zeros) return internal_error("out of memory while measuring the output");
  for (size_t index : order)
    QF_RETURN_IF_ERROR(writer->write_tensor(index, {zeros.get(), file.plan.jobs[index].target.n_bytes}));
  QF_RETURN_IF_ERROR(writer->finish());
  return sink.position();
}

}  // namespace

Status check_writer_accepts(const core::Registry& registry, const Conversion& conversion) {
  for (const OutputFile& file : conversion.files) {
    core::CountingSink sink(file.path);
    auto writer = core::create_writer(*conversion.container, sink, registry, file.plan.writer_options);
    if (!writer.ok()) return writer.take_status().with_file(file.path);
    if (auto order = (*writer)->begin(file.plan.metadata, file.plan.target_infos()); !order.ok())
      return order.take_status().with_file(file.path);
  }
  return {};
}

void drop_split_keys(const ContainerDescriptor& container, Metadata& metadata) {
  if (container.split == nullptr) return;
  for (const auto& key : split_words(container.split->split_keys)) metadata.erase(key);
}

Result<uint64_t> parse_split_size(std::string_view text) {
  const auto bad = [&] {
    return usage_error(fmt::format(
        "'{}' is not a split size; use e.g. 512M or 2G (10^6 and 10^9 bytes, as llama-gguf-split reads them), "
        "4GiB, or a number of bytes",
        text));
  };
  size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
    ++digits;
  if (digits == 0) return bad();
  char* end = nullptr;
  const std::string number_text(text.substr(0, digits));
  const double number = std::strtod(number_text.c_str(), &end);
  if (end != number_text.c_str() + number_text.size()) return bad();
  std::string suffix;
  for (char c : text.substr(digits)) suffix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const SizeUnit& unit : kSplitSizeUnits) {
    if (unit.suffix != suffix) continue;
    const double bytes = number * unit.bytes;
    if (!(bytes >= 1) || bytes > 1.8e19) return usage_error(fmt::format("split size '{}' is out of range", text));
    return static_cast<uint64_t>(bytes);
  }
  return bad();
}

std::vector<std::vector<size_t>> pack_split_files(const Plan& plan, const SplitLimits& limits) {
  std::vector<std::vector<size_t>> groups;
  uint64_t filled = 0;
  for (size_t i = 0; i < plan.jobs.size(); ++i) {
    const uint64_t bytes =
        (plan.jobs[i].target.n_bytes + kSplitTensorPadding - 1) / kSplitTensorPadding * kSplitTensorPadding;
    const bool over_size = limits.max_bytes > 0 && filled > 0 && filled + bytes > limits.max_bytes;
    const bool over_count = limits.max_tensors > 0 && !groups.empty() && groups.back().size() >= limits.max_tensors;
    if (groups.empty() || over_size || over_count) {
      groups.emplace_back();
      filled = 0;
    }
    groups.back().push_back(i);
    filled += bytes;
  }
  if (groups.empty()) groups.emplace_back();
  return groups;
}

Status plan_output_files(Conversion& conversion, const std::string& path, const SplitLimits& limits) {
  drop_split_keys(*conversion.container, conversion.plan.metadata);
  if (!limits.splits()) {
    write_to_one_file(conversion, path);
    return {};
  }
  return plan_split_files(conversion, path, pack_split_files(conversion.plan, limits));
}

Status plan_split_files(Conversion& conversion, const std::string& path,
                        const std::vector<std::vector<size_t>>& groups) {
  drop_split_keys(*conversion.container, conversion.plan.metadata);
  const QfSplitConvention* split = conversion.container->split;
  const std::string weights = weights_path(conversion, path);
  if (split == nullptr)
    return usage_error(
        fmt::format("the {} container cannot split a model into several files", conversion.container->name));
  const Plan& plan = conversion.plan;
  // The executor concatenates per-file statistics in plan order.
  size_t next = 0;
  for (const auto& group : groups)
    for (size_t i : group)
      if (i != next++) return internal_error("split files must hold consecutive runs of the plan's tensors");
  if (next != plan.jobs.size()) return internal_error("the split files do not hold every tensor of the plan");
  const size_t count = groups.size();
  conversion.files.clear();
  // "out.gguf.zst" splits into "out-00001-of-00002.gguf.zst", ...: the pattern applies to the
  // container's name and each file keeps the compression suffix.
  const std::string base = streams::strip_zstd_suffix(weights);
  const std::string suffix = streams::has_zstd_suffix(weights) ? std::string(streams::kZstdSuffix) : std::string();
  for (size_t g = 0; g < count; ++g) {
    OutputFile file;
    QF_ASSIGN_OR_RETURN(file.path, split_file_name(*split, base, g + 1, count));
    file.path += suffix;
    file.plan.writer_options = plan.writer_options;
    if (g == 0 || split->metadata_in_every_file) file.plan.metadata = plan.metadata;
    if (split->tag_file != nullptr)
      split->tag_file(file.plan.metadata, static_cast<uint32_t>(g), static_cast<uint32_t>(count), plan.jobs.size());
    for (size_t i : groups[g]) file.plan.jobs.push_back(plan.jobs[i]);
    conversion.files.push_back(std::move(file));
  }
  conversion.index_path = split->index_suffix != nullptr ? base + split->index_suffix : std::string();
  return {};
}

std::string split_index_text(const Conversion& conversion, const CodecCatalog& catalog) {
  const QfSplitConvention* split = conversion.container->split;
  if (conversion.index_path.empty() || split == nullptr || split->index_text == nullptr) return {};
  std::vector<SplitFile> files;
  for (const auto& file : conversion.files) files.push_back({file.path, file.plan.target_infos()});
  return split->index_text(files, catalog);
}

Result<OutputEstimate> estimate_output(const core::Registry& registry, const Conversion& conversion) {
  OutputEstimate estimate;
  for (const auto& file : conversion.files) {
    QF_ASSIGN_OR_RETURN(uint64_t bytes, measure_file(registry, *conversion.container, file));
    estimate.files.emplace_back(file.path, bytes);
    estimate.file_bytes += bytes;
  }
  if (!conversion.index_path.empty()) {
    const uint64_t bytes = split_index_text(conversion, registry).size();
    estimate.files.emplace_back(conversion.index_path, bytes);
    estimate.file_bytes += bytes;
  }
  for (const auto& job : conversion.plan.jobs) {
    estimate.tensor_bytes += job.target.n_bytes;
    auto& [count, bytes] = estimate.per_type[job.target.dtype.name];
    ++count;
    bytes += job.target.n_bytes;
  }
  estimate.memory_bytes = peak_memory_estimate(conversion.plan, conversion.settings);
  return estimate;
}

}  // namespace quantflow::pipeline
