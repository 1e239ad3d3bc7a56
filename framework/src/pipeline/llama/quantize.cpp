#include "pipeline/llama/quantize.hpp"

#include "pipeline/engine/direct.hpp"
#include "pipeline/engine/output_files.hpp"
#include "pipeline/llama/hf_checkpoint/adapt.hpp"

#include <fmt/format.h>

namespace quantflow::pipeline {

namespace {

// llama-quantize records these after the user's overrides, in this order.
void add_imatrix_metadata(const QuantizeRequest& request, PresetOptions& options) {
  const ImportanceMatrix& imatrix = *request.importance;
  options.has_imatrix = true;
  auto& extra = options.extra_metadata;
  extra.emplace_back("quantize.imatrix.file", MetaValue::make_string(request.imatrix_path.substr(0, 127)));
  if (!imatrix.datasets.empty())
    extra.emplace_back("quantize.imatrix.dataset", MetaValue::make_string(imatrix.datasets.front().substr(0, 127)));
  extra.emplace_back("quantize.imatrix.entries_count",
                     MetaValue::make_u32(static_cast<uint32_t>(imatrix.weights.size())));
  if (imatrix.chunk_count > 0)
    extra.emplace_back("quantize.imatrix.chunks_count", MetaValue::make_u32(imatrix.chunk_count));
}

}  // namespace

Result<QuantizePlan> plan_quantize(const core::Registry& registry, QuantizeRequest request) {
  QuantizePlan out;
  Conversion& conversion = out.conversion;
  conversion.container = registry.find_container(request.preset.container);
  if (conversion.container == nullptr || conversion.container->create_writer == nullptr)
    return unsupported(fmt::format("preset {} writes '{}' files, and no loaded plugin writes them", request.preset.name,
                                   request.preset.container))
        .with_file(request.preset.source_path);
  QF_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, registry.open_reader(request.input));
  // A Hugging Face folder is quantized from its own tensors, as its F16 GGUF conversion would be.
  QF_ASSIGN_OR_RETURN(reader, hf::adapt_checkpoint(registry, request.input, std::move(reader), *conversion.container));
  conversion.source = std::move(reader);
  conversion.input_paths = {request.input};
  conversion.settings = request.settings;
  conversion.importance = request.importance;
  if (request.importance != nullptr) add_imatrix_metadata(request, request.options);

  Plan& plan = conversion.plan;
  plan = copy_plan(*conversion.source);
  if (Status s = apply_preset(request.preset, request.options, plan, registry, *conversion.container, &out.report);
      !s.ok())
    return std::move(s).with_file(request.input);
  expand_row_scales(plan);
  if (Status s = attach_importance(plan, conversion.importance.get()); !s.ok())
    return std::move(s).with_file(request.input);
  write_to_one_file(conversion, request.output);
  choose_transcoders(conversion, registry);
  QF_RETURN_IF_ERROR(check_writer_accepts(registry, conversion));
  return out;
}

}  // namespace quantflow::pipeline
