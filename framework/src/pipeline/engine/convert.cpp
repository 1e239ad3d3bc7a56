#include "pipeline/engine/convert.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "pipeline/engine/direct.hpp"
#include "pipeline/engine/file_type.hpp"
#include "pipeline/engine/output_files.hpp"
#include "pipeline/engine/writer_options.hpp"

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

Status apply_uniform_type(Plan& plan, const TypeRequest& type, const std::vector<const CodecDescriptor*>& fallbacks,
                          const core::Registry& registry) {
  const CodecCatalog& catalog = registry;
  QF_ASSIGN_OR_RETURN(const std::string family, family_name(type));
  // A grouped family picks its member per tensor; a plain name is one codec for every tensor.
  const CodecDescriptor* single = registry.find(family);
  // Dequantizing joins stored row-scaled pairs (values + per-row scales) into one tensor.
  if (single != nullptr && static_cast<DTypeKind>(single->kind) != DTypeKind::quantized)
    join_row_scaled_pairs(plan, catalog, registry.codecs());
  for (auto& job : plan.jobs) {
    const CodecDescriptor* codec = resolve_type(catalog, type, job.source.dtype);
    if (codec == nullptr)
      return usage_error(fmt::format("no loaded codec is {} with groups of {} for a {} tensor", family,
                                     type.group_size == 0 ? kDefaultGroupSize : type.group_size, job.source.dtype.name))
          .with_tensor(job.source.name);
    if (!job.scale_source_index && !eligible_for_uniform_type(job.source, *codec, catalog)) continue;
    if (single == nullptr && !family_quantizes(job.source)) continue;
    const uint64_t row = row_length(job.source.shape);
    const bool fits = dtype_of(*codec).fits_row(row);
    // mlx-lm leaves a matrix whose rows are not whole groups unquantized; so does a family.
    if (!fits && fallbacks.empty() && single == nullptr) continue;
    const auto fallback = std::find_if(fallbacks.begin(), fallbacks.end(),
                                       [row](const CodecDescriptor* f) { return dtype_of(*f).fits_row(row); });
    if (!fits && fallback != fallbacks.end()) {
      if (job.source.dtype.name == (*fallback)->name) continue;  // already there: keep the bytes
      QF_RETURN_IF_ERROR(retarget(job, **fallback, catalog));
      job.fallback_from = dtype_of(*codec);  // listed by dry runs and reports
      continue;
    }
    Status s = retarget(job, *codec, catalog);
    if (!s.ok() && !fits)
      return usage_error(s.message() + (fallbacks.empty() ? " (choose fallback types with --fallback TYPE[,TYPE...])"
                                                          : " nor of any --fallback type's"))
          .with_tensor(job.source.name);
    QF_RETURN_IF_ERROR(s);
  }
  return {};
}

namespace {

// What an adapted input fixes wins over the uniform type: such a tensor is written in its
// fixed encoding, as it is when it already has it.
Status apply_fixed_encodings(Plan& plan, const AdaptedInput& input, const CodecDescriptor& requested,
                             const core::Registry& registry) {
  for (auto& job : plan.jobs) {
    const CodecDescriptor* fixed = input.fixed_encoding(job.source, requested, registry);
    if (fixed == nullptr || job.target.dtype.name == fixed->name) continue;
    if (job.source.dtype.name == fixed->name) {
      const std::string name = job.target.name;
      job.target = job.source;
      job.target.name = name;
      job.target.offset = 0;
      job.decoder = job.encoder = nullptr;
      continue;
    }
    if (Status s = retarget(job, *fixed, registry); !s.ok()) return std::move(s).with_tensor(job.source.name);
  }
  return {};
}

}  // namespace

Result<const ContainerDescriptor*> output_container(const core::Registry& registry, const std::string& path,
                                                    const std::string& format) {
  const ContainerDescriptor* container =
      format.empty() ? registry.container_for_path(path) : registry.find_container(format);
  // A folder output goes to the one container that writes model folders, if only one does.
  if (container == nullptr && format.empty() && names_a_folder(path)) {
    for (const auto* c : registry.containers()) {
      if (c->folder == nullptr || c->create_writer == nullptr) continue;
      if (container != nullptr)
        return usage_error("several containers write model folders; choose one with --to").with_file(path);
      container = c;
    }
  }
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

Result<Conversion> plan_convert(const core::Registry& registry, const ConvertRequest& request) {
  Conversion conversion;
  QF_ASSIGN_OR_RETURN(conversion.container, output_container(registry, request.output, request.output_format));
  QF_RETURN_IF_ERROR(check_writer_options(registry, *conversion.container, request.writer_options));
  QF_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, registry.open_reader(request.input));
  if (request.adapt_input) {
    QF_ASSIGN_OR_RETURN(reader, request.adapt_input(registry, request.input, std::move(reader), *conversion.container));
  }
  const auto* adapted = dynamic_cast<const AdaptedInput*>(reader.get());
  conversion.source = std::move(reader);
  conversion.input_paths = {request.input};
  conversion.settings = request.settings;
  Plan& plan = conversion.plan;
  plan = copy_plan(*conversion.source);
  plan.writer_options = request.writer_options;
  if (!request.type.empty()) {
    if (!is_known_type(registry, registry.codecs(), request.type)) {
      QF_RETURN_IF_ERROR(family_name(request.type).status());
      std::string names;
      for (const auto* c : registry.codecs())
        if (c->encode) names += (names.empty() ? "" : ", ") + std::string(c->name);
      return usage_error(fmt::format("unknown type '{}' (available: {})", request.type.type, names));
    }
    std::vector<const CodecDescriptor*> fallbacks;
    for (const auto& name : request.fallback) {
      const CodecDescriptor* fallback = registry.find(name);
      if (fallback == nullptr || fallback->encode == nullptr)
        return usage_error(fmt::format("unknown fallback type '{}'", name));
      fallbacks.push_back(fallback);
    }
    const CodecDescriptor* codec = registry.find(canonical_dtype_name(request.type.type));
    if (adapted != nullptr && codec != nullptr && fallbacks.empty())
      for (const auto& name : adapted->default_fallback(*codec))
        if (const CodecDescriptor* fallback = registry.find(name)) fallbacks.push_back(fallback);
    if (Status s = apply_uniform_type(plan, request.type, fallbacks, registry); !s.ok())
      return std::move(s).with_file(request.input);
    if (adapted != nullptr && codec != nullptr)
      QF_RETURN_IF_ERROR(apply_fixed_encodings(plan, *adapted, *codec, registry));
    if (codec != nullptr && (adapted == nullptr || !adapted->record_main_encoding(plan.metadata, *codec)))
      record_main_encoding(*conversion.container, plan.metadata, *codec);
  }

  expand_row_scales(plan);
  conversion.importance = request.importance;
  if (Status s = attach_importance(plan, conversion.importance.get()); !s.ok())
    return std::move(s).with_file(request.input);
  QF_RETURN_IF_ERROR(plan_output_files(conversion, request.output, request.split));
  choose_transcoders(conversion, registry);
  QF_RETURN_IF_ERROR(check_writer_accepts(registry, conversion));
  return conversion;
}

}  // namespace quantflow::pipeline
