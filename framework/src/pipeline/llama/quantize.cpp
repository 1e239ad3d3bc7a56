#include "pipeline/llama/quantize.hpp"

#include <algorithm>

#include "pipeline/engine/direct.hpp"
#include "pipeline/engine/output_files.hpp"
#include "pipeline/llama/hf_checkpoint/adapt.hpp"

#include <fmt/format.h>

namespace quantflow::pipeline {

namespace {

// Readers over several files (GGUF and APR shards, a safetensors index) report how many of
// their tensors, in order, each file holds.
constexpr char kShardTensorsProperty[] = "shard_tensors";

// llama-quantize records these after the user's overrides, in this order.
void add_imatrix_metadata(const QuantizeRequest& request, PresetOptions& options) {
  const ImportanceMatrix& imatrix = *request.importance;
  options.has_imatrix = true;
  options.importance = &imatrix;
  auto& extra = options.extra_metadata;
  extra.emplace_back("quantize.imatrix.file", MetaValue::make_string(request.imatrix_path.substr(0, 127)));
  if (!imatrix.datasets.empty())
    extra.emplace_back("quantize.imatrix.dataset", MetaValue::make_string(imatrix.datasets.front().substr(0, 127)));
  extra.emplace_back("quantize.imatrix.entries_count",
                     MetaValue::make_u32(static_cast<uint32_t>(imatrix.weights.size())));
  if (imatrix.chunk_count > 0)
    extra.emplace_back("quantize.imatrix.chunks_count", MetaValue::make_u32(imatrix.chunk_count));
}

// The input file (0-based) that holds each of the reader's tensors.
std::vector<size_t> input_shard_of_tensors(const Reader& reader) {
  std::vector<size_t> shard_of(reader.tensors().size(), 0);
  for (const Property& property : reader.properties()) {
    if (property.key != kShardTensorsProperty || property.value.type != MetaType::array) continue;
    size_t next = 0;
    for (size_t shard = 0; shard < property.value.elements.size(); ++shard)
      for (uint64_t n = property.value.elements[shard].as_u64(); n > 0 && next < shard_of.size(); --n)
        shard_of[next++] = shard;
  }
  return shard_of;
}

// --keep-split: one output file per input shard, holding the same tensors (the plan is in input
// order, so each shard's tensors are a consecutive run), tagged as llama-quantize tags them.
Status keep_input_shards(Conversion& conversion, const std::string& output) {
  const std::vector<size_t> shard_of = input_shard_of_tensors(*conversion.source);
  std::vector<std::vector<size_t>> groups;
  for (size_t i = 0; i < conversion.plan.jobs.size(); ++i) {
    const size_t shard = shard_of[conversion.plan.jobs[i].source_index];
    if (shard + 1 > groups.size()) groups.resize(shard + 1);
    groups[shard].push_back(i);
  }
  if (groups.empty()) groups.emplace_back();
  QF_RETURN_IF_ERROR(plan_split_files(conversion, output, groups));
  for (OutputFile& file : conversion.files) {
    Metadata& metadata = file.plan.metadata;
    if (conversion.files.size() == 1) {
      // An unsplit input keeps the shard's name but, as in llama-quantize, no split keys.
      drop_split_keys(*conversion.container, metadata);
    } else if (const MetaValue* total = metadata.find("split.tensors.count")) {
      // llama-quantize writes split.count before split.tensors.count (gguf-split the reverse).
      const MetaValue value = *total;
      metadata.set("split.tensors.count", value);
    }
  }
  return {};
}

}  // namespace

Result<std::shared_ptr<const ImportanceMatrix>> select_importance(std::shared_ptr<const ImportanceMatrix> importance,
                                                                  const std::vector<std::string>& include,
                                                                  const std::vector<std::string>& exclude) {
  if (!include.empty() && !exclude.empty())
    return usage_error("--include-weights and --exclude-weights cannot be used together");
  if (importance == nullptr || (include.empty() && exclude.empty())) return importance;
  auto selected = std::make_shared<ImportanceMatrix>(*importance);
  const auto named_by = [](const std::vector<std::string>& parts, const std::string& name) {
    return std::any_of(parts.begin(), parts.end(),
                       [&](const std::string& part) { return name.find(part) != std::string::npos; });
  };
  std::erase_if(selected->weights, [&](const auto& entry) {
    return include.empty() ? named_by(exclude, entry.first) : !named_by(include, entry.first);
  });
  if (selected->weights.empty()) return std::shared_ptr<const ImportanceMatrix>();
  return std::shared_ptr<const ImportanceMatrix>(std::move(selected));
}

Result<QuantizePlan> plan_quantize(const core::Registry& registry, QuantizeRequest request) {
  QuantizePlan out;
  Conversion& conversion = out.conversion;
  conversion.container = registry.find_container(request.preset.container);
  if (conversion.container == nullptr || conversion.container->create_writer == nullptr)
    return unsupported(fmt::format("preset {} writes '{}' files, and no loaded plugin writes them", request.preset.name,
                                   request.preset.container))
        .with_file(request.preset.source_path);
  if (request.keep_split && request.split.splits())
    return usage_error(
        "--keep-split keeps the input's shards; it cannot be combined with --split-max-size or "
        "--split-max-tensors");
  QF_ASSIGN_OR_RETURN(request.importance, select_importance(std::move(request.importance), request.include_weights,
                                                            request.exclude_weights));
  QF_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, registry.open_reader(request.input));
  // A Hugging Face folder is quantized from its own tensors, as its F16 GGUF conversion would be.
  QF_ASSIGN_OR_RETURN(reader, hf::adapt_checkpoint(registry, request.input, std::move(reader), *conversion.container));
  conversion.source = std::move(reader);
  conversion.input_paths = {request.input};
  conversion.settings = request.settings;
  conversion.importance = request.importance;
  if (request.importance != nullptr) add_imatrix_metadata(request, request.options);
  request.options.input_order = request.keep_split;

  Plan& plan = conversion.plan;
  plan = copy_plan(*conversion.source);
  if (Status s = apply_preset(request.preset, request.options, plan, registry, *conversion.container, &out.report);
      !s.ok())
    return std::move(s).with_file(request.input);
  expand_row_scales(plan);
  if (Status s = attach_importance(plan, conversion.importance.get()); !s.ok())
    return std::move(s).with_file(request.input);
  if (request.keep_split) {
    QF_RETURN_IF_ERROR(keep_input_shards(conversion, request.output));
  } else {
    QF_RETURN_IF_ERROR(plan_output_files(conversion, request.output, request.split));
  }
  choose_transcoders(conversion, registry);
  QF_RETURN_IF_ERROR(check_writer_accepts(registry, conversion));
  return out;
}

}  // namespace quantflow::pipeline
