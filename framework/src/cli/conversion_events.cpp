#include "cli/conversion_events.hpp"

#include <filesystem>

namespace quantflow::cli {

namespace {

std::vector<std::string> output_paths(const pipeline::Conversion& conversion) {
  std::vector<std::string> paths;
  for (const auto& file : conversion.files) paths.push_back(file.path);
  if (!conversion.index_path.empty()) paths.push_back(conversion.index_path);
  return paths;
}

}  // namespace

ProgressStart start_of(const pipeline::Conversion& conversion) {
  const pipeline::Progress totals = pipeline::progress_totals(conversion.plan);
  return {.inputs = conversion.input_paths,
          .files = output_paths(conversion),
          .tensors = totals.tensors_total,
          .input_bytes = totals.input_bytes_total,
          .bytes = totals.bytes_total};
}

std::vector<std::pair<std::string, uint64_t>> written_file_sizes(const pipeline::Conversion& conversion) {
  std::vector<std::pair<std::string, uint64_t>> files;
  for (const auto& path : output_paths(conversion)) {
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(path, ec);
    files.emplace_back(path, ec ? 0 : static_cast<uint64_t>(size));
  }
  return files;
}

nlohmann::json files_json(const std::vector<std::pair<std::string, uint64_t>>& files) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [path, bytes] : files) out.push_back({{"path", path}, {"bytes", bytes}});
  return out;
}

nlohmann::json done_event(const pipeline::Conversion& conversion, double seconds) {
  const auto files = written_file_sizes(conversion);
  uint64_t bytes = 0;
  for (const auto& file : files) bytes += file.second;
  return {{"event", "done"},
          {"files", files_json(files)},
          {"tensors", conversion.plan.jobs.size()},
          {"bytes", bytes},
          {"tensor_bytes", pipeline::progress_totals(conversion.plan).bytes_total},
          {"seconds", seconds}};
}

}  // namespace quantflow::cli
