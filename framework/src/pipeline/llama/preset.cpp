// The generic preset engine: llama-quantize's per-tensor type decision (§5.6 of the
// conversion notes) driven by a Preset's rules, plus its tensor order and metadata edits.
#include "pipeline/llama/preset.hpp"

#include "pipeline/llama/preset_decider.hpp"
#include "pipeline/llama/prune_layers.hpp"

#include "pipeline/engine/file_type.hpp"
#include "pipeline/engine/output_files.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fmt/format.h>
#include <regex>

namespace quantflow::pipeline {

namespace {

using preset_detail::contains;
using preset_detail::Decider;

constexpr uint32_t kFtypeGuessedFlag = 1024;  // LLAMA_FTYPE_GUESSED

// The file type the input records, or llama's guess from the most common tensor encoding:
// only plain encodings have an unambiguous file type, anything else is reported as guessed.
uint32_t input_file_type(const ContainerDescriptor& container, const CodecCatalog& catalog, const Metadata& metadata,
                         const std::vector<TensorInfo>& tensors) {
  if (const auto recorded = recorded_file_type(container, metadata)) return *recorded;
  std::vector<std::pair<std::string, size_t>> counts;
  for (const auto& t : tensors) {
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == t.dtype.name; });
    if (it == counts.end()) {
      counts.emplace_back(t.dtype.name, 1);
    } else {
      ++it->second;
    }
  }
  std::string most;
  size_t best = 0;
  for (const auto& [name, count] : counts)
    if (count > best) {
      best = count;
      most = name;
    }
  const CodecDescriptor* codec = catalog.find(most.empty() ? "f32" : most);
  if (codec != nullptr && static_cast<DTypeKind>(codec->kind) != DTypeKind::quantized)
    if (const auto id = file_type_id(container, *codec)) return *id | kFtypeGuessedFlag;
  return kFtypeGuessedFlag;
}

// `tensor` as the rules see it (renamed by --prune-layers); `source_name` is the name its
// importance weights are filed under.
Status imatrix_requirement(const Preset& preset, const PresetOptions& options, const TensorInfo& tensor,
                           const std::string& source_name, const std::string& type) {
  if (!contains(preset.imatrix_required_types, type)) return {};
  const bool has_weights =
      options.importance != nullptr ? options.importance->weights.count(source_name) > 0 : options.has_imatrix;
  if (has_weights) return {};
  if (contains(preset.imatrix_exempt_categories, categorize_tensor(tensor.name))) return {};
  const char* remedy = options.importance != nullptr
                           ? "the importance matrix has no entry for it (see --include-weights / --exclude-weights)"
                           : "pass one with --imatrix FILE";
  return usage_error(fmt::format("this quantization requires an imatrix ({} makes this tensor {}); {}", preset.name,
                                 ggml_type_name(type), remedy))
      .with_tensor(tensor.name);
}

}  // namespace

std::string ggml_type_name(const std::string& codec_name) {
  std::string name = codec_name;
  if (name.size() > 2 && name.ends_with("_k") && name[0] == 'q') name.back() = 'K';
  return name;
}

Result<MetaValue> parse_override_value(const std::string& key, const std::string& typed_value) {
  const size_t colon = typed_value.find(':');
  const std::string type = colon == std::string::npos ? std::string() : typed_value.substr(0, colon);
  const std::string value = colon == std::string::npos ? std::string() : typed_value.substr(colon + 1);
  auto bad = [&](const std::string& why) {
    return usage_error(fmt::format("--override-kv {}={}: {}", key, typed_value, why));
  };
  if (key.empty() || key.size() >= 128) return bad("the key must have 1 to 127 characters");
  if (type == "int") {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || errno != 0) return bad("'" + value + "' is not an integer");
    // llama-quantize stores integer overrides as the u32 of the absolute value.
    return MetaValue::make_u32(static_cast<uint32_t>(v < 0 ? -static_cast<unsigned long long>(v) : v));
  }
  if (type == "float") {
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0') return bad("'" + value + "' is not a number");
    return MetaValue::make_f32(static_cast<float>(v));
  }
  if (type == "bool") {
    if (value != "true" && value != "false") return bad("a bool is true or false");
    return MetaValue::make_bool(value == "true");
  }
  if (type == "str") {
    if (value.size() > 127) return bad("strings are limited to 127 characters");
    return MetaValue::make_string(value);
  }
  return bad("expected KEY=TYPE:VALUE with TYPE int, float, bool or str");
}

Status apply_preset(const Preset& preset, const PresetOptions& options, Plan& plan, const CodecCatalog& catalog,
                    const ContainerDescriptor& container, PresetReport* report) {
  std::vector<TensorInfo> sources;
  sources.reserve(plan.jobs.size());
  for (const auto& job : plan.jobs) sources.push_back(job.source);

  // Metadata first: the model facts are read with the overrides applied, as llama-quantize
  // loads the model with them.
  Metadata metadata = plan.metadata;
  const uint32_t file_type =
      preset.copy_only ? input_file_type(container, catalog, plan.metadata, sources) : preset.ftype;
  record_file_type(container, metadata, file_type);
  // The output is a single file: keys describing the input's split go.
  drop_split_keys(container, metadata);
  for (const auto& [key, typed_value] : options.override_kv) {
    QF_ASSIGN_OR_RETURN(MetaValue value, parse_override_value(key, typed_value));
    metadata.set(key, std::move(value));
  }
  for (const auto& [key, value] : options.extra_metadata) metadata.set(key, value);

  // Pruning renames in llama's order (blocks ascending), before any type is chosen; the rules
  // then see the new names and the tensors left, but the model's original block_count.
  const std::vector<size_t> llama_order = llama_tensor_order(sources);
  LayerPruner pruner(options.prune_layers);
  std::vector<std::optional<std::string>> names(sources.size());
  for (size_t index : llama_order) names[index] = pruner.rename(sources[index].name);
  std::vector<TensorInfo> kept;
  for (size_t i = 0; i < sources.size(); ++i)
    if (names[i]) {
      kept.push_back(sources[i]);
      kept.back().name = *names[i];
    }
  const LlamaModelFacts facts = read_model_facts(metadata, kept);

  Decider decider(preset, options, facts, catalog);
  QF_RETURN_IF_ERROR(decider.compile_patterns());

  std::vector<size_t> order = llama_order;
  if (options.input_order)
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<TensorJob> ordered;
  ordered.reserve(plan.jobs.size());
  size_t requantized = 0, pruned = 0;
  for (size_t index : order) {
    if (!names[index]) {
      ++pruned;
      continue;
    }
    TensorJob job = plan.jobs[index];
    job.target.name = *names[index];
    TensorInfo renamed = job.source;
    renamed.name = *names[index];
    QF_ASSIGN_OR_RETURN(const std::string type, decider.decide(renamed));
    if (!type.empty()) QF_RETURN_IF_ERROR(imatrix_requirement(preset, options, renamed, job.source.name, type));
    if (const CodecDescriptor* wanted = catalog.find(decider.fallback_from())) job.fallback_from = dtype_of(*wanted);
    if (!type.empty() && type != job.source.dtype.name) {
      const CodecDescriptor* codec = catalog.find(type);
      if (codec == nullptr) return unsupported(fmt::format("no loaded codec provides '{}'", type));
      if (job.source.dtype.kind == DTypeKind::quantized) {
        if (!options.allow_requantize)
          return usage_error(fmt::format("requantizing from type {} is disabled (use --allow-requantize)",
                                         ggml_type_name(job.source.dtype.name)))
              .with_tensor(job.source.name);
        ++requantized;
      }
      QF_RETURN_IF_ERROR(retarget(job, *codec, catalog));
    }
    ordered.push_back(std::move(job));
  }
  if (pruner.active()) {
    if (facts.arch.empty())
      return usage_error("--prune-layers needs general.architecture, to name the <arch>.block_count it sets");
    metadata.set(facts.arch + ".block_count", MetaValue::make_u32(static_cast<uint32_t>(pruner.block_count())));
  }
  plan.jobs = std::move(ordered);
  plan.metadata = std::move(metadata);
  if (report != nullptr) {
    report->fallbacks = decider.fallbacks();
    report->requantized = requantized;
    report->pruned = pruned;
  }
  return {};
}

}  // namespace quantflow::pipeline
