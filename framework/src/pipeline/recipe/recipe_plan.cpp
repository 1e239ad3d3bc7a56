#include "pipeline/recipe/recipe_plan.hpp"

#include <map>
#include <set>

#include <fmt/format.h>

#include "pipeline/engine/convert.hpp"
#include "pipeline/engine/type_request.hpp"
#include "pipeline/engine/direct.hpp"
#include "pipeline/engine/file_type.hpp"
#include "pipeline/llama/hf_checkpoint/adapt.hpp"
#include "pipeline/llama/imatrix.hpp"
#include "pipeline/llama/name_map.hpp"
#include "pipeline/recipe/recipe_output.hpp"
#include "pipeline/recipe/recipe_preset.hpp"
#include "pipeline/recipe/tensor_rules.hpp"

namespace quantflow::pipeline {

namespace {

// Seed exporters' behaviour: these stay in the protected type unless a rule names them.
constexpr const char* kProtectedNames[] = {"token_embd.weight", "output_norm.weight", "output.weight"};
constexpr const char* kNormSuffixes[] = {"norm.weight", "norm.bias"};
constexpr const char* kDefaultProtectedType = "f32";

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_protected(const TensorInfo& tensor, const std::string& name) {
  if (tensor.shape.size() <= 1) return true;
  for (const char* n : kProtectedNames)
    if (name == n) return true;
  for (const char* s : kNormSuffixes)
    if (ends_with(name, s)) return true;
  return false;
}

void keep_as_is(TensorJob& job) {
  const std::string name = job.target.name;
  job.target = job.source;
  job.target.name = name;
  job.target.offset = 0;
  job.decoder = job.encoder = nullptr;
}

// Re-encodes `job` to `codec`, or per the fallback policy when its rows do not fit.
// Returns the encoding actually chosen, for the plan's reasons.
Result<std::string> encode_job(TensorJob& job, const CodecDescriptor& codec, const Recipe& recipe,
                               const core::Registry& registry, const SourceMark& decided_at) {
  const uint64_t row = row_length(job.source.shape);
  const CodecDescriptor* chosen = &codec;
  if (!dtype_of(codec).fits_row(row)) {
    chosen = nullptr;
    for (const auto& f : recipe.fallback) {
      const CodecDescriptor* candidate = registry.find(canonical_dtype_name(f.value));
      if (candidate != nullptr && dtype_of(*candidate).fits_row(row)) {
        chosen = candidate;
        break;
      }
    }
    if (chosen == nullptr)
      return recipe_error(decided_at,
                          fmt::format("tensor '{}': row length {} is not a multiple of {}'s block size {}{}",
                                      job.target.name, row, codec.name, codec.block_elems,
                                      recipe.fallback.empty() ? " (set 'fallback: TYPE' to allow another)"
                                                              : " nor of any fallback type's"));
  }
  if (chosen != &codec) job.fallback_from = dtype_of(codec);
  if (job.source.dtype.name == chosen->name) {
    keep_as_is(job);
    return std::string(chosen->name);
  }
  if (Status s = retarget(job, *chosen, registry); !s.ok()) return recipe_error(decided_at, s.to_string());
  return std::string(chosen->name);
}

// Output names for every tensor of `reader`: explicit map, then the builtin map, else
// unchanged. An adapted checkpoint already carries GGUF names: no builtin map applies to it.
Status assign_names(const Recipe& recipe, const Reader& reader, RecipeSource& source, bool adapted,
                    std::vector<std::optional<std::string>>& names, RecipePlan& out) {
  const auto& tensors = reader.tensors();
  std::map<std::string, const Marked<std::string>*> explicit_names;
  std::map<std::string, bool> explicit_used;
  for (const auto& [from, to] : recipe.rename.names) {
    explicit_names[from.value] = &to;
    explicit_used[from.value] = false;
  }
  std::optional<ArchitectureParams> arch;
  if (!adapted && !recipe.rename.builtin.value.empty() && recipe.rename.builtin.value != kNoNameMap) {
    QF_ASSIGN_OR_RETURN(arch, resolve_architecture(recipe.rename, recipe.inputs.front().value));
  }
  names.assign(tensors.size(), std::nullopt);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const std::string& name = tensors[i].name;
    if (auto it = explicit_names.find(name); it != explicit_names.end()) {
      names[i] = it->second->value;
      explicit_used[name] = true;
      continue;
    }
    if (!arch) {
      names[i] = name;
      continue;
    }
    const MappedName mapped = map_hf_to_gguf(name, *arch);
    switch (mapped.outcome) {
      case MappedName::Outcome::dropped:
        out.skipped.push_back({name, "not a weight (dropped by " + recipe.rename.builtin.value + ")"});
        break;
      case MappedName::Outcome::unmapped:
        return recipe_error(recipe.rename.builtin.mark,
                            fmt::format("{} has no {} name for tensor '{}' (name it under 'rename.map')",
                                        recipe.rename.builtin.value, arch->architecture, name));
      case MappedName::Outcome::renamed:
        names[i] = mapped.name;
        if (Status s = source.set_transform(i, mapped.transform); !s.ok())
          return recipe_error(recipe.rename.builtin.mark, s.to_string());
        break;
    }
  }
  for (const auto& [from, to] : recipe.rename.names)
    if (!explicit_used[from.value])
      out.warnings.push_back(from.mark.to_string() + ": no input tensor is named '" + from.value + "'");
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!names[i]) continue;
    const auto [it, fresh] = seen.emplace(*names[i], i);
    if (!fresh)
      return usage_error(fmt::format("{}: tensors '{}' and '{}' would both be written as '{}'", recipe.file,
                                     tensors[it->second].name, tensors[i].name, *names[i]));
  }
  return {};
}

// A single Hugging Face checkpoint folder bound for GGUF is read as llama.cpp's converter
// writes it (names, layouts, metadata, tokenizer), unless `rename: {builtin: none}` says not.
Result<std::shared_ptr<const Reader>> adapt_recipe_input(const core::Registry& registry, const Recipe& recipe,
                                                         const std::shared_ptr<RecipeSource>& source, RecipePlan& out) {
  if (recipe.inputs.size() != 1 || recipe.rename.builtin.value == kNoNameMap)
    return std::shared_ptr<const Reader>(source);
  QF_ASSIGN_OR_RETURN(auto reader,
                      hf::adapt_shared_checkpoint(registry, recipe.inputs.front().value, source, *out.container));
  if (reader == source) return reader;
  out.source = reader;
  const std::pair<bool, const SourceMark*> overridden[] = {
      {!recipe.rename.architecture.value.empty(), &recipe.rename.architecture.mark},
      {recipe.rename.heads.value != 0, &recipe.rename.heads.mark},
      {recipe.rename.kv_heads.value != 0, &recipe.rename.kv_heads.mark}};
  for (const auto& [set, mark] : overridden)
    if (set)
      out.warnings.push_back(mark->to_string() +
                             ": ignored: the checkpoint's config.json decides the "
                             "architecture and heads");
  return reader;
}

Status edit_metadata(const Recipe& recipe, const RecipeSource& source, Metadata& metadata) {
  for (const auto& pattern : recipe.metadata.remove) {
    std::vector<std::string> doomed;
    for (const auto& e : metadata.entries())
      if (glob_matches(pattern.value, e.key)) doomed.push_back(e.key);
    for (const auto& k : doomed) metadata.erase(k);
  }
  for (const auto& copy : recipe.metadata.copy) {
    const MetaValue* value = source.input(copy.input.value).metadata().find(copy.from_key.value);
    if (value == nullptr)
      return recipe_error(copy.from_key.mark, fmt::format("input {} ({}) has no metadata key '{}'", copy.input.value,
                                                          recipe.inputs[copy.input.value].value, copy.from_key.value));
    metadata.assign(copy.key.value, *value);
  }
  for (const auto& set : recipe.metadata.set) metadata.assign(set.key.value, set.value);
  return {};
}

}  // namespace

Result<RecipePlan> plan_recipe(const core::Registry& registry, const Recipe& written) {
  RecipePlan out;
  QF_ASSIGN_OR_RETURN(const Recipe recipe, expand_recipe_preset(written));
  QF_RETURN_IF_ERROR(validate_recipe(registry, recipe, out.warnings));
  QF_ASSIGN_OR_RETURN(std::shared_ptr<RecipeSource> source, RecipeSource::open(registry, recipe));
  out.source = source;
  out.input_paths = source->input_paths();
  QF_ASSIGN_OR_RETURN(out.container, output_container(registry, recipe.output.path.value, recipe.output.format.value));
  QF_ASSIGN_OR_RETURN(const std::shared_ptr<const Reader> reader, adapt_recipe_input(registry, recipe, source, out));
  const bool adapted = reader != source;
  out.settings = {.threads = recipe.threads.value, .memory_budget = recipe.memory_limit.value};
  out.report_path = recipe.output.report.value;
  out.model_card = recipe.output.model_card.value;
  out.quantization = written.preset.value.empty() ? recipe.default_type.value : written.preset.value;

  std::vector<std::optional<std::string>> names;
  QF_RETURN_IF_ERROR(assign_names(recipe, *reader, *source, adapted, names, out));

  Plan& plan = out.plan;
  plan.metadata = reader->metadata();
  QF_RETURN_IF_ERROR(edit_metadata(recipe, *source, plan.metadata));
  for (const auto& [key, value] : recipe.output.writer_options) plan.writer_options[key.value] = value;

  QF_ASSIGN_OR_RETURN(auto rules, compile_rules(recipe.rules, block_count_of(reader->tensors())));
  std::vector<size_t> rule_hits(rules.size(), 0);
  const CodecDescriptor* default_codec =
      recipe.default_type.value.empty() ? nullptr : registry.find(canonical_dtype_name(recipe.default_type.value));
  // A grouped family (mlx_q4) as default_type: each tensor gets the member for its float type.
  const bool default_family = default_codec == nullptr && !recipe.default_type.value.empty();
  auto member_for = [&](const Marked<std::string>& type, const TensorInfo& tensor) -> Result<const CodecDescriptor*> {
    const CodecDescriptor* codec = resolve_type(registry, type_named(type.value), tensor.dtype);
    if (codec == nullptr)
      return recipe_error(type.mark, fmt::format("no loaded encoding of '{}' for the {} tensor '{}'", type.value,
                                                 tensor.dtype.name, tensor.name));
    return codec;
  };
  // `protected_type: keep` leaves them in their own encoding, as mlx-lm leaves what it does not quantize.
  const CodecDescriptor* protected_codec =
      recipe.protected_type.value == "keep"
          ? nullptr
          : registry.find(recipe.protected_type.value.empty() ? kDefaultProtectedType
                                                              : canonical_dtype_name(recipe.protected_type.value));

  // Every named, non-empty tensor starts as a copy; a preset may then choose encodings,
  // and rules (first match wins) override both the preset and the defaults.
  const auto& tensors = reader->tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!names[i]) continue;
    if (element_count(tensors[i].shape) == 0) {
      out.skipped.push_back({*names[i], "empty"});
      out.warnings.push_back(fmt::format("{}: tensor '{}' is empty (shape {}); it is skipped", recipe.file,
                                         tensors[i].name, shape_to_string(tensors[i].shape)));
      continue;
    }
    TensorJob job;
    job.source_index = i;
    job.source = tensors[i];
    keep_as_is(job);
    job.target.name = *names[i];
    plan.jobs.push_back(std::move(job));
  }
  const bool preset_decides = !recipe.preset.value.empty();
  if (preset_decides) {
    QF_RETURN_IF_ERROR(apply_recipe_preset(registry, recipe, *out.container, plan));
    // The preset rewrites metadata; the recipe's own assignments still have the last word.
    for (const auto& set : recipe.metadata.set) plan.metadata.assign(set.key.value, set.value);
  }

  std::vector<TensorJob> kept;
  kept.reserve(plan.jobs.size());
  for (TensorJob& job : plan.jobs) {
    const TensorInfo& tensor = job.source;
    std::string reason;
    const auto match = first_match(rules, job.target.name, tensor.name, tensor.shape);
    if (match) {
      const TensorRule& rule = rules[*match].rule();
      ++rule_hits[*match];
      const std::string where = "rule at line " + std::to_string(rule.mark.line);
      if (rule.action == RuleAction::skip) {
        out.skipped.push_back({job.target.name, where});
        continue;
      }
      if (rule.action == RuleAction::keep) {
        keep_as_is(job);
        reason = where + ": keep";
      } else {
        QF_ASSIGN_OR_RETURN(const CodecDescriptor* codec, member_for(rule.type, tensor));
        const std::string wanted = codec->name;
        QF_ASSIGN_OR_RETURN(std::string chosen, encode_job(job, *codec, recipe, registry, rule.type.mark));
        reason = where + (chosen == wanted ? "" : ": fallback");
      }
    } else if (preset_decides) {
      reason = "preset " + recipe.preset.value;
    } else if (recipe.mode.value == RuleMode::allowlist) {
      reason = "allowlist: not listed";
    } else if (is_protected(tensor, job.target.name)) {
      reason = "protected";
      if (protected_codec != nullptr && tensor.dtype.kind == DTypeKind::floating &&
          tensor.dtype.name != protected_codec->name) {
        QF_RETURN_IF_ERROR(
            encode_job(job, *protected_codec, recipe, registry, recipe.protected_type.mark).take_status());
      }
    } else if (default_family) {
      QF_ASSIGN_OR_RETURN(const CodecDescriptor* codec, member_for(recipe.default_type, tensor));
      // As mlx-lm does, a matrix whose rows are not whole groups stays as it is.
      if (!eligible_for_uniform_type(tensor, *codec, registry) || !family_quantizes(tensor) ||
          (!dtype_of(*codec).fits_row(row_length(tensor.shape)) && recipe.fallback.empty())) {
        reason = "kept";
      } else {
        QF_ASSIGN_OR_RETURN(std::string chosen, encode_job(job, *codec, recipe, registry, recipe.default_type.mark));
        reason = chosen == codec->name ? "default_type" : "default_type: fallback";
      }
    } else if (default_codec != nullptr && eligible_for_uniform_type(tensor, *default_codec, registry)) {
      QF_ASSIGN_OR_RETURN(std::string chosen,
                          encode_job(job, *default_codec, recipe, registry, recipe.default_type.mark));
      reason = chosen == default_codec->name ? "default_type" : "default_type: fallback";
    } else {
      reason = "kept";
    }
    job.reason = std::move(reason);
    kept.push_back(std::move(job));
  }
  plan.jobs = std::move(kept);
  expand_row_scales(plan);
  for (size_t r = 0; r < rules.size(); ++r)
    if (rule_hits[r] == 0 && rules[r].rule().mark.origin != recipe.preset_rules_file)
      out.warnings.push_back(rules[r].rule().mark.to_string() + ": this rule matches no tensor");
  // A uniform default encoding is recorded as the model's file type, where the container has one.
  const auto* adapted_input = dynamic_cast<const AdaptedInput*>(reader.get());
  if (default_codec != nullptr && !preset_decides &&
      (adapted_input == nullptr || !adapted_input->record_main_encoding(plan.metadata, *default_codec)))
    record_main_encoding(*out.container, plan.metadata, *default_codec);

  if (!recipe.imatrix.value.empty()) {
    QF_ASSIGN_OR_RETURN(out.importance, load_imatrix(registry, recipe.imatrix.value));
  }
  if (Status s = attach_importance(plan, out.importance.get()); !s.ok())
    return std::move(s).with_file(out.input_paths.front());
  QF_RETURN_IF_ERROR(plan_recipe_output_files(registry, recipe, out));
  choose_transcoders(out, registry);
  return out;
}

}  // namespace quantflow::pipeline
