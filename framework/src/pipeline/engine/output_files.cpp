#include "pipeline/engine/output_files.hpp"

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

// Greedy packing in output order: a file closes when the next tensor would overflow it.
std::vector<std::vector<size_t>> pack(const Plan& plan, uint64_t split_size) {
  std::vector<std::vector<size_t>> groups;
  uint64_t filled = 0;
  for (size_t i = 0; i < plan.jobs.size(); ++i) {
    const uint64_t bytes = plan.jobs[i].target.n_bytes;
    if (groups.empty() || (filled > 0 && filled + bytes > split_size)) {
      groups.emplace_back();
      filled = 0;
    }
    groups.back().push_back(i);
    filled += bytes;
  }
  if (groups.empty()) groups.emplace_back();
  return groups;
}

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

Status plan_output_files(Conversion& conversion, const std::string& path, uint64_t split_size) {
  const QfSplitConvention* split = conversion.container->split;
  drop_split_keys(*conversion.container, conversion.plan.metadata);
  if (split_size == 0) {
    write_to_one_file(conversion, path);
    return {};
  }
  const std::string weights = weights_path(conversion, path);
  if (split == nullptr)
    return usage_error(
        fmt::format("the {} container cannot split a model into several files", conversion.container->name));
  const Plan& plan = conversion.plan;
  const auto groups = pack(plan, split_size);
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
