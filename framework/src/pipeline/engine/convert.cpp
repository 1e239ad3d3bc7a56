#include "pipeline/engine/convert.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "core/atomic_output.hpp"

namespace quantflow::pipeline {

bool eligible_for_uniform_type(const TensorInfo& tensor, const CodecDescriptor& target, const CodecCatalog& catalog) {
  if (tensor.dtype.name == target.name) return false;
  const CodecDescriptor* source = catalog.find(tensor.dtype.name);
  if (source == nullptr || source->decode == nullptr) return false;
  if (element_count(tensor.shape) == 0) return false;
  const bool source_quantized = tensor.dtype.kind == DTypeKind::quantized;
  const bool target_plain = static_cast<DTypeKind>(target.kind) != DTypeKind::quantized;
  if (source_quantized && target_plain) return true;
  return tensor.shape.size() >= 2 && tensor.dtype.kind != DTypeKind::integer;
}

Status apply_uniform_type(Plan& plan, const CodecDescriptor& codec,
                          const std::vector<const CodecDescriptor*>& fallbacks, const core::Registry& registry) {
  const CodecCatalog& catalog = registry;
  // Dequantizing joins stored row-scaled pairs (values + per-row scales) into one tensor.
  if (static_cast<DTypeKind>(codec.kind) != DTypeKind::quantized)
    join_row_scaled_pairs(plan, catalog, registry.codecs());
  for (auto& job : plan.jobs) {
    if (!job.scale_source_index && !eligible_for_uniform_type(job.source, codec, catalog)) continue;
    const uint64_t row = row_length(job.source.shape);
    const bool fits = dtype_of(codec).fits_row(row);
    const auto fallback = std::find_if(fallbacks.begin(), fallbacks.end(),
                                       [row](const CodecDescriptor* f) { return dtype_of(*f).fits_row(row); });
    if (!fits && fallback != fallbacks.end()) {
      if (job.source.dtype.name == (*fallback)->name) continue;  // already there: keep the bytes
      QF_RETURN_IF_ERROR(retarget(job, **fallback, catalog));
      continue;
    }
    Status s = retarget(job, codec, catalog);
    if (!s.ok() && !fits)
      return usage_error(s.message() + (fallbacks.empty() ? " (choose fallback types with --fallback TYPE[,TYPE...])"
                                                          : " nor of any --fallback type's"))
          .with_tensor(job.source.name);
    QF_RETURN_IF_ERROR(s);
  }
  return {};
}

Result<const ContainerDescriptor*> output_container(const core::Registry& registry, const std::string& path,
                                                    const std::string& format) {
  const ContainerDescriptor* container =
      format.empty() ? registry.container_for_path(path) : registry.find_container(format);
  if (container == nullptr) {
    std::string names;
    for (const auto* c : registry.containers())
      if (c->create_writer) names += (names.empty() ? "" : ", ") + std::string(c->name);
    if (!format.empty()) return usage_error(fmt::format("unknown output format '{}' (available: {})", format, names));
    return usage_error(fmt::format("cannot tell the output format from the file name; use --to ({})", names))
        .with_file(path);
  }
  if (container->create_writer == nullptr)
    return unsupported(fmt::format("the {} plugin cannot write files", container->name)).with_file(path);
  return container;
}

Status write_plan(const core::Registry& registry, const Reader& reader, const Plan& plan,
                  const ContainerDescriptor& container, const std::string& output,
                  const std::vector<std::string>& inputs, const ExecuteOptions& options) {
  QF_ASSIGN_OR_RETURN(auto sink, core::AtomicFileSink::create(output, inputs));
  // Planners expand row-scaled encodings into their pairs; a plan that was not expanded
  // would write fewer tensors than its statistics and reports describe.
  const bool unexpanded = std::any_of(plan.jobs.begin(), plan.jobs.end(), [](const TensorJob& j) {
    return j.encoder && j.encoder->row_scale && j.part == TensorJob::Part::whole;
  });
  if (unexpanded) return internal_error("the plan's row-scaled encodings were not expanded").with_file(output);
  auto writer_result = core::create_writer(container, *sink, registry, plan.writer_options);
  if (!writer_result.ok()) return writer_result.take_status().with_file(output);
  auto writer = std::move(writer_result).value();
  auto order = writer->begin(plan.metadata, plan.target_infos());
  if (!order.ok()) return order.take_status().with_file(output);
  if (order->size() != plan.jobs.size())
    return internal_error("the writer's tensor order does not cover every tensor").with_file(output);
  if (Status s = execute(plan, *order, reader, *writer, options); !s.ok()) {
    // Reading and encoding errors belong to the input file; writing errors to the output.
    const bool blame_output = s.code() == ErrorCode::io_error || inputs.empty();
    return std::move(s).with_file(blame_output ? output : inputs.front());
  }
  if (Status s = writer->finish(); !s.ok()) return std::move(s).with_file(output);
  return sink->commit();
}

Status attach_importance(Plan& plan, const ImportanceMatrix* imatrix) {
  for (TensorJob& job : plan.jobs) {
    job.importance = nullptr;
    if (job.is_copy()) continue;
    if (imatrix != nullptr) {
      QF_ASSIGN_OR_RETURN(job.importance, imatrix->for_tensor(job.source));
    }
    if (job.importance == nullptr && (job.encoder->flags & QF_CODEC_IMATRIX_REQUIRED))
      return usage_error(fmt::format("{} needs an importance matrix{}", job.encoder->name,
                                     imatrix ? ", and " + imatrix->file + " has none for this tensor"
                                             : "; pass one with --imatrix FILE"))
          .with_tensor(job.source.name);
  }
  return {};
}

Result<ConvertSummary> convert(const core::Registry& registry, const ConvertRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  QF_ASSIGN_OR_RETURN(const ContainerDescriptor* container,
                      output_container(registry, request.output, request.output_format));
  QF_ASSIGN_OR_RETURN(auto reader, registry.open_reader(request.input));
  Plan plan = copy_plan(*reader);
  plan.writer_options = request.writer_options;
  if (!request.type.empty()) {
    const CodecDescriptor* codec = registry.find(request.type);
    if (codec == nullptr) {
      std::string names;
      for (const auto* c : registry.codecs())
        if (c->encode) names += (names.empty() ? "" : ", ") + std::string(c->name);
      return usage_error(fmt::format("unknown type '{}' (available: {})", request.type, names));
    }
    std::vector<const CodecDescriptor*> fallbacks;
    for (const auto& name : request.fallback) {
      const CodecDescriptor* fallback = registry.find(name);
      if (fallback == nullptr || fallback->encode == nullptr)
        return usage_error(fmt::format("unknown fallback type '{}'", name));
      fallbacks.push_back(fallback);
    }
    if (Status s = apply_uniform_type(plan, *codec, fallbacks, registry); !s.ok())
      return std::move(s).with_file(request.input);
    plan.writer_options.emplace("target_type", codec->name);
  }

  expand_row_scales(plan);
  std::optional<ImportanceMatrix> imatrix;
  if (!request.imatrix.empty()) {
    QF_ASSIGN_OR_RETURN(imatrix, load_imatrix(registry, request.imatrix));
  }
  if (Status s = attach_importance(plan, imatrix ? &*imatrix : nullptr); !s.ok())
    return std::move(s).with_file(request.input);

  ExecuteOptions options;
  std::vector<TensorStats> stats;
  if (request.measure_error) options.stats = &stats;
  options.threads = request.threads;
  options.memory_budget = request.memory_budget;
  options.on_progress = request.on_progress;
  QF_RETURN_IF_ERROR(write_plan(registry, *reader, plan, *container, request.output, {request.input}, options));

  ConvertSummary summary;
  summary.tensors = plan.jobs.size();
  for (const auto& job : plan.jobs) {
    summary.reencoded += job.reencodes_a_source() ? 1 : 0;
    summary.input_bytes += job.source_bytes_read();
    summary.output_bytes += job.target.n_bytes;
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.report = make_report(plan, stats, summary.seconds);
  return summary;
}

}  // namespace quantflow::pipeline
