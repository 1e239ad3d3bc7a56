#include "pipeline/engine/conversion.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "core/atomic_output.hpp"
#include "pipeline/engine/carried_files.hpp"
#include "pipeline/engine/output_files.hpp"
#include "streams/zstd_sink.hpp"

namespace quantflow::pipeline {

namespace {

// Streams one file's plan into `path` through the container's writer; the finished file joins
// `output`, to be published with the others.
Status write_file(const core::Registry& registry, const Conversion& conversion, const OutputFile& file,
                  const ExecuteOptions& options, core::OutputSet& set) {
  const std::string& output = file.path;
  QF_ASSIGN_OR_RETURN(const auto compression, streams::output_compression_for(output, conversion.compression));
  QF_ASSIGN_OR_RETURN(auto file_sink, core::AtomicFileSink::create(output, conversion.input_paths));
  // The writer's bytes pass through a compressor on their way into the atomic file.
  std::unique_ptr<streams::ZstdSink> compressor;
  if (compression.zstd) {
    auto created = streams::ZstdSink::create(*file_sink, compression.level);
    if (!created.ok()) return created.take_status().with_file(output);
    compressor = std::move(created).value();
  }
  OutputSink& sink = compressor ? static_cast<OutputSink&>(*compressor) : *file_sink;
  // Planners expand row-scaled encodings into their pairs; a plan that was not expanded
  // would write fewer tensors than its statistics and reports describe.
  const bool unexpanded = std::any_of(file.plan.jobs.begin(), file.plan.jobs.end(), [](const TensorJob& j) {
    return j.encoder && j.encoder->row_scale && j.part == TensorJob::Part::whole;
  });
  if (unexpanded) return internal_error("the plan's row-scaled encodings were not expanded").with_file(output);
  auto writer_result = core::create_writer(*conversion.container, sink, registry, file.plan.writer_options);
  if (!writer_result.ok()) return writer_result.take_status().with_file(output);
  auto writer = std::move(writer_result).value();
  auto order = writer->begin(file.plan.metadata, file.plan.target_infos());
  if (!order.ok()) return order.take_status().with_file(output);
  if (order->size() != file.plan.jobs.size())
    return internal_error("the writer's tensor order does not cover every tensor").with_file(output);
  if (Status s = execute(file.plan, *order, *conversion.source, *writer, options); !s.ok()) {
    // Reading and encoding errors belong to the input file; writing errors to the output.
    const bool blame_output = s.code() == ErrorCode::io_error || conversion.input_paths.empty();
    return std::move(s).with_file(blame_output ? output : conversion.input_paths.front());
  }
  if (Status s = writer->finish(); !s.ok()) return std::move(s).with_file(output);
  if (compressor)
    if (Status s = compressor->finish(); !s.ok()) return std::move(s).with_file(output);
  return set.add(std::move(file_sink));
}

// A folder model's companion files (config.json, ...) go last: a folder whose weights (or
// carried files) were not all written never gets the file that makes it loadable.
Status write_companions(const Conversion& conversion, const CodecCatalog& catalog, core::OutputSet& output) {
  const QfFolderLayout* layout = conversion.container->folder;
  if (conversion.folder.empty() || layout == nullptr) return {};
  const std::vector<TensorInfo> tensors = conversion.plan.target_infos();
  for (uint32_t i = 0; i < layout->n_companions; ++i) {
    const QfCompanionFile& companion = layout->companions[i];
    const std::string path = (std::filesystem::path(conversion.folder) / companion.name).string();
    Result<std::string> text = companion.text(conversion.plan.metadata, tensors, catalog);
    if (!text.ok()) return text.take_status().with_file(path);
    if (text->empty()) continue;  // the model has no such file
    QF_RETURN_IF_ERROR(output.add_text(path, *text, conversion.input_paths));
  }
  return {};
}

// A folder output is created when missing; everything in it is then written atomically.
// `created` is set when this run made it, so that a failed run can take it away again.
Status prepare_folder(const Conversion& conversion, bool& created) {
  if (conversion.folder.empty()) return {};
  for (const auto& input : conversion.input_paths)
    if (core::same_path(input, conversion.folder))
      return usage_error("the output folder is the input folder; name another folder").with_file(conversion.folder);
  std::error_code ec;
  created = std::filesystem::create_directories(conversion.folder, ec);
  if (ec) return io_error("cannot create the output folder: " + ec.message()).with_file(conversion.folder);
  return {};
}

// Writes every file of the conversion into `output`; nothing is published here.
Status write_files(const core::Registry& registry, const Conversion& conversion, const ExecutionHooks& hooks,
                   const std::vector<CarriedFile>& carried, core::OutputSet& output);

}  // namespace

bool names_a_folder(const std::string& path) {
  std::error_code ec;
  return (!path.empty() && path.back() == '/') || std::filesystem::is_directory(path, ec);
}

std::string weights_path(Conversion& conversion, const std::string& path) {
  conversion.folder.clear();
  const QfFolderLayout* layout = conversion.container ? conversion.container->folder : nullptr;
  if (layout == nullptr || !names_a_folder(path)) return path;
  std::filesystem::path folder(path);
  if (!folder.has_filename()) folder = folder.parent_path();  // "out/" -> "out"
  conversion.folder = folder.string();
  return (folder / layout->weights_file).string();
}

void write_to_one_file(Conversion& conversion, const std::string& path) {
  conversion.files = {{weights_path(conversion, path), conversion.plan}};
  conversion.index_path.clear();
}

Status execute_conversion(const core::Registry& registry, const Conversion& conversion, const ExecutionHooks& hooks) {
  if (conversion.source == nullptr || conversion.container == nullptr || conversion.files.empty())
    return internal_error("the conversion was not fully planned");
  if (hooks.only_file && *hooks.only_file >= conversion.files.size())
    return internal_error(fmt::format("file {} of an output of {} files", *hooks.only_file, conversion.files.size()));
  // Listed (and links checked) before anything exists, so a refused link leaves nothing.
  QF_ASSIGN_OR_RETURN(const std::vector<CarriedFile> carried, plan_carried_files(conversion));
  bool created_folder = false;
  QF_RETURN_IF_ERROR(prepare_folder(conversion, created_folder));
  // Every file of the output (shards, index, carried files, companions) is written before any
  // is published: a failure leaves none of them, and a folder this run made goes again.
  core::OutputSet output;
  Status status = write_files(registry, conversion, hooks, carried, output);
  if (status.ok()) status = output.commit();
  if (!status.ok()) {
    if (created_folder) {
      output = core::OutputSet();  // unlinks the temporaries before the folder goes
      std::error_code ec;
      std::filesystem::remove(conversion.folder, ec);  // only when empty: never someone else's file
    }
    return status;
  }
  if (hooks.carried != nullptr)
    for (const CarriedFile& file : carried) hooks.carried->push_back(file.name);
  return {};
}

namespace {

Status write_files(const core::Registry& registry, const Conversion& conversion, const ExecutionHooks& hooks,
                   const std::vector<CarriedFile>& carried, core::OutputSet& output) {
  Progress overall = progress_totals(conversion.plan);
  for (size_t f = 0; f < conversion.files.size(); ++f) {
    const OutputFile& file = conversion.files[f];
    if (hooks.only_file && *hooks.only_file != f) continue;
    const Progress before = overall;
    ExecuteOptions options;
    options.settings = conversion.settings;
    options.on_progress = [&](const Progress& p) {
      overall.tensors_done = before.tensors_done + p.tensors_done;
      overall.bytes_done = before.bytes_done + p.bytes_done;
      overall.input_bytes_done = before.input_bytes_done + p.input_bytes_done;
      overall.last = p.last;
      if (hooks.on_progress) hooks.on_progress(overall);
    };
    std::vector<TensorStats> file_stats;
    std::vector<TranscodeRoute> file_routes;
    if (hooks.stats != nullptr) options.stats = &file_stats;
    if (hooks.routes != nullptr) options.routes = &file_routes;
    QF_RETURN_IF_ERROR(write_file(registry, conversion, file, options, output));
    // Files hold consecutive runs of the plan's jobs, so their statistics concatenate.
    if (hooks.stats != nullptr) hooks.stats->insert(hooks.stats->end(), file_stats.begin(), file_stats.end());
    if (hooks.routes != nullptr) hooks.routes->insert(hooks.routes->end(), file_routes.begin(), file_routes.end());
  }
  if (hooks.only_file && *hooks.only_file != 0) return {};
  if (!conversion.index_path.empty())
    QF_RETURN_IF_ERROR(
        output.add_text(conversion.index_path, split_index_text(conversion, registry), conversion.input_paths));
  QF_RETURN_IF_ERROR(copy_carried_files(carried, conversion.input_paths, output));
  return write_companions(conversion, registry, output);
}

}  // namespace

}  // namespace quantflow::pipeline
