// llama-quantize's command line on quantflow's pipeline: the same arguments, the same
// per-tensor types (from YAML presets), the same bytes.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "cli/cli_common.hpp"
#include "cli/commands.hpp"
#include "cli/conversion_events.hpp"
#include "cli/progress.hpp"
#include "cli/quantize_args.hpp"
#include "pipeline/analysis/model_card.hpp"
#include "core/units.hpp"
#include "pipeline/engine/direct.hpp"
#include "pipeline/engine/fallbacks.hpp"
#include "pipeline/llama/imatrix.hpp"
#include "pipeline/llama/prune_layers.hpp"
#include "pipeline/llama/quantize.hpp"
#include "pipeline/recipe/recipe_plan.hpp"
#include "pipeline/recipe/recipe_preset.hpp"

namespace quantflow::cli {

namespace {

namespace fs = std::filesystem;

// The switches quantize adds to llama-quantize's, and the split of its output.
struct QuantizeSwitches {
  std::vector<std::string> include_weights, exclude_weights, tensor_type_files, tensor_types, overrides;
  std::string prune_layers;
  bool keep_split = false;
  SplitOptions split;
};

void print_dry_run(const pipeline::Conversion& conversion, const pipeline::Preset& preset,
                   const pipeline::PresetReport& report) {
  const pipeline::Plan& plan = conversion.plan;
  const pipeline::PlanTotals totals = pipeline::totals_of(plan);
  size_t name_width = 4;
  for (const auto& job : plan.jobs) name_width = std::max(name_width, job.target.name.size());
  std::cout << fmt::format("{:>5}  {:<{}}  {:<16}  {:<8}    {:<8}  {:>12}\n", "#", "name", name_width, "shape",
                           "source", "target", "bytes");
  for (size_t i = 0; i < plan.jobs.size(); ++i) {
    const auto& job = plan.jobs[i];
    const std::string_view route = pipeline::planned_route(job);
    std::cout << fmt::format("{:>5}  {:<{}}  {:<16}  {:<8} -> {:<8}  {:>12}{}\n", i, job.target.name, name_width,
                             shape_to_string(job.source.shape), job.source.dtype.name, job.target.dtype.name,
                             job.target.n_bytes, route.empty() ? "" : fmt::format("  ({})", route));
  }
  if (conversion.files.size() > 1)
    for (const auto& file : conversion.files)
      std::cout << fmt::format("file {}: {} tensors\n", file.path, file.plan.jobs.size());
  const auto fallbacks = pipeline::fallbacks_of(plan);
  for (const auto& f : fallbacks) std::cout << "fallback: " << pipeline::fallback_line(f) << "\n";
  const std::string file_type =
      preset.is_recipe_preset() ? std::string() : fmt::format(" (file_type {})", preset.ftype);
  std::cout << fmt::format("{}{}: {} tensors, {} -> {} of tensor data", preset.name, file_type, totals.tensors,
                           core::format_size(totals.source_bytes), core::format_size(totals.target_bytes));
  if (!fallbacks.empty()) {
    double extra = 0;
    for (const auto& f : fallbacks) extra += f.extra_bytes;
    std::cout << fmt::format(", {} tensors used a fallback type ({}{})", fallbacks.size(), extra < 0 ? "-" : "+",
                             core::format_size(static_cast<uint64_t>(std::llround(std::abs(extra)))));
  }
  if (report.pruned > 0) std::cout << fmt::format(", {} tensors pruned", report.pruned);
  std::cout << "\n";
}

// llama-quantize's switches that a recipe preset has no use for, and what was given of them.
Status refuse_llama_switches(const pipeline::Preset& preset, const pipeline::PresetOptions& options,
                             const std::string& imatrix_path, const QuantizeSwitches& switches) {
  const std::pair<const char*, bool> given[] = {
      {"--imatrix", !imatrix_path.empty()},
      {"--output-tensor-type", !options.output_tensor_type.empty()},
      {"--token-embedding-type", !options.token_embedding_type.empty()},
      {"--leave-output-tensor", options.leave_output_tensor},
      {"--override-kv", !options.override_kv.empty()},
      {"--allow-requantize", options.allow_requantize},
      {"--include-weights", !switches.include_weights.empty()},
      {"--exclude-weights", !switches.exclude_weights.empty()},
      {"--prune-layers", !switches.prune_layers.empty()},
      {"--keep-split", switches.keep_split},
      {"--no-fallback", options.no_fallback},
  };
  for (const auto& [option, present] : given)
    if (present)
      return usage_error(
          fmt::format("{} is a switch of llama-quantize's presets; {} is a recipe preset (write a "
                      "recipe with a rule instead, docs/recipes.md)",
                      option, preset.name));
  return {};
}

// A recipe preset (mlx-lm's mixed_4_6 and the like) runs on the recipe engine: the input and
// output are the recipe's, --pure drops the preset's rules and --tensor-type comes first.
Result<pipeline::QuantizePlan> plan_recipe_preset(const core::Registry& registry, const QuantizeArgs& args,
                                                  const pipeline::Preset& preset,
                                                  const pipeline::PresetOptions& options,
                                                  const pipeline::ExecutionSettings& settings,
                                                  const pipeline::SplitLimits& split) {
  std::string output = args.output;
  if (!args.output_named) {
    // Beside the input, named after it and the preset: a folder when the preset writes folders.
    const ContainerDescriptor* container = registry.find_container(preset.container);
    if (container == nullptr || container->folder == nullptr)
      return usage_error(fmt::format("{} writes '{}' output; name the output file", preset.name, preset.container));
    fs::path input(args.input);
    if (!input.has_filename()) input = input.parent_path();
    output = (input.parent_path() / (input.filename().string() + "-" + preset.name)).string() + "/";
  }
  pipeline::Recipe recipe = pipeline::recipe_for_preset(preset, args.input, output, options.pure, options.tensor_types);
  recipe.output.split_size = {split.max_bytes, {"--split-max-size", 0, 0}};
  recipe.output.split_max_tensors = {split.max_tensors, {"--split-max-tensors", 0, 0}};
  QF_ASSIGN_OR_RETURN(pipeline::RecipePlan planned, pipeline::plan_recipe(registry, recipe));
  for (const auto& warning : planned.warnings) std::cerr << "quantflow: warning: " << warning << "\n";
  pipeline::QuantizePlan out;
  out.conversion = std::move(static_cast<pipeline::Conversion&>(planned));
  out.conversion.settings = settings;
  pipeline::choose_transcoders(out.conversion, registry);
  return out;
}

void add_quantize_options(po::options_description& options, std::vector<std::string>& positionals,
                          std::string& imatrix_path, pipeline::PresetOptions& preset_options,
                          QuantizeSwitches& switches) {
  options.add_options()("args", po::value(&positionals)->composing(), "IN [OUT] TYPE [NTHREADS]")(
      "imatrix", po::value(&imatrix_path), "importance matrix (GGUF or legacy .dat) from llama.cpp's imatrix tool")(
      "include-weights", po::value(&switches.include_weights)->composing(),
      "use the importance matrix only for tensors whose name contains this text (repeatable; llama-quantize's "
      "meaning: the other tensors are quantized without it)")(
      "exclude-weights", po::value(&switches.exclude_weights)->composing(),
      "do not use the importance matrix for tensors whose name contains this text (repeatable; not with "
      "--include-weights)")("pure", po::bool_switch(&preset_options.pure),
                            "use the default type for every tensor, ignoring the mixture")(
      "output-tensor-type", po::value(&preset_options.output_tensor_type), "type of output.weight (no fallback)")(
      "token-embedding-type", po::value(&preset_options.token_embedding_type),
      "type of token_embd.weight (no fallback)")(
      "tensor-type", po::value(&switches.tensor_types)->composing(),
      "PATTERN=TYPE: tensors whose name matches the regular expression get TYPE; first match wins (repeatable)")(
      "tensor-type-file", po::value(&switches.tensor_type_files)->composing(),
      "a file of PATTERN=TYPE items separated by white space, read as that many --tensor-type in its place")(
      "prune-layers", po::value(&switches.prune_layers),
      "L1,L2,...: drop these blocks (blk.N tensors), renumber the rest and set block_count")(
      "leave-output-tensor", po::bool_switch(&preset_options.leave_output_tensor), "copy output.weight unchanged")(
      "override-kv", po::value(&switches.overrides)->composing(),
      "KEY=TYPE:VALUE metadata to set, TYPE int, float, bool or str (repeatable)")(
      "allow-requantize", po::bool_switch(&preset_options.allow_requantize),
      "re-encode tensors that are already quantized")(
      "keep-split", po::bool_switch(&switches.keep_split),
      "write one output file per input shard, with the same tensors in each (OUT names them: "
      "OUT-00001-of-0000N.gguf)")("no-fallback", po::bool_switch(&preset_options.no_fallback),
                                  "refuse a tensor whose row length does not fit its type instead of giving it the "
                                  "preset's fallback type");
  switches.split.add_to(options);
}

}  // namespace

int run_quantize(int argc, char** argv) {
  CommonOptions common;
  std::vector<std::string> positionals;
  std::string imatrix_path, memory_limit, compress;
  pipeline::PresetOptions preset_options;
  QuantizeSwitches switches;
  int threads = 0;
  bool dry_run = false, quiet = false, model_card = false, force = false, no_direct = false;
  po::options_description options("options");
  add_quantize_options(options, positionals, imatrix_path, preset_options, switches);
  options.add_options()("threads", po::value(&threads)->default_value(0),
                        "worker threads (0: all cores; NTHREADS also sets it)")(
      "memory-limit", po::value(&memory_limit),
      "budget for tensor data in flight, e.g. 2G (default: a quarter of RAM, at most 4G)")(
      "dry-run", po::bool_switch(&dry_run),
      "print every tensor's planned type and size, and every fallback with its cost; write nothing")(
      "model-card", po::bool_switch(&model_card), "write a README.md model card beside the output")(
      "force", po::bool_switch(&force), "let --model-card replace an existing README.md beside the output")(
      "no-direct", po::bool_switch(&no_direct),
      "never use a plugin's transcoder: decode every re-encoded tensor to f32 and encode it")(
      "quiet,q", po::bool_switch(&quiet), "print nothing on success");
  add_compress_option(options, compress);
  ProgressOption progress_option;
  progress_option.add_to(options);
  common.add_to(options);
  po::positional_options_description positional;
  positional.add("args", -1);
  po::variables_map vm;
  std::vector<po::option> given;
  int exit_code = 0;
  if (!parse_command_line(argc, argv,
                          "usage: quantflow quantize IN.gguf [OUT.gguf] TYPE [NTHREADS] [options]\n\n"
                          "Quantizes a GGUF model exactly as llama-quantize does: TYPE is a preset name such as\n"
                          "Q4_K_M, Q8_0 or IQ4_XS (case-insensitive), an ftype number, or a preset .yaml file.\n"
                          "Presets are searched in QUANTFLOW_CONFIG_PATH/presets, then the installed configs.\n"
                          "Without OUT the output is <dir of IN>/ggml-model-<TYPE>.gguf (for a model folder IN,\n"
                          "IN-<TYPE>.gguf beside it).\n"
                          "mlx-lm's mixed recipes are presets too (mixed_2_6, mixed_3_4, mixed_3_6, mixed_4_6):\n"
                          "IN is then any model (a Hugging Face folder, safetensors, GGUF), OUT an MLX folder\n"
                          "(default: IN-<TYPE>/ beside IN). See docs/presets.md.",
                          options, positional, vm, exit_code, &given))
    return exit_code;

  const auto mode = progress_option.resolve(quiet);
  if (!mode.ok()) return report_error(mode.status());
  ProgressReporter progress(*mode);
  std::optional<pipeline::Preset> preset;
  auto args = resolve_positionals(positionals, preset);
  if (!args.ok()) return report_error(args.status());
  if (threads == 0) threads = args->threads;
  auto tensor_types = ordered_tensor_types(given);
  if (!tensor_types.ok()) return report_error(tensor_types.status());
  preset_options.tensor_types = std::move(tensor_types).value();
  for (const auto& text : switches.overrides) {
    auto pair = split_assignment(text, "--override-kv", "KEY=TYPE:VALUE");
    if (!pair.ok()) return report_error(pair.status());
    preset_options.override_kv.push_back(*pair);
  }
  if (!switches.prune_layers.empty()) {
    auto layers = pipeline::parse_prune_layers(switches.prune_layers);
    if (!layers.ok()) return report_error(layers.status());
    preset_options.prune_layers = std::move(layers).value();
  }
  auto split = switches.split.limits();
  if (!split.ok()) return report_error(split.status());

  if (model_card)
    if (Status s = pipeline::check_model_card_target(args->output, force); !s.ok()) return report_error(s);
  pipeline::QuantizeRequest request{.input = args->input,
                                    .output = args->output,
                                    .preset = *preset,
                                    .options = preset_options,
                                    .imatrix_path = imatrix_path,
                                    .importance = nullptr,
                                    .settings = {},
                                    .include_weights = switches.include_weights,
                                    .exclude_weights = switches.exclude_weights,
                                    .split = *split,
                                    .keep_split = switches.keep_split};
  request.settings.threads = threads;
  request.settings.direct_transcoding = !no_direct;
  if (!memory_limit.empty()) {
    auto bytes = core::parse_size(memory_limit);
    if (!bytes.ok()) return report_error(bytes.status());
    request.settings.memory_budget = *bytes;
  }
  if (imatrix_path.empty() && (!switches.include_weights.empty() || !switches.exclude_weights.empty()))
    std::cerr << "quantflow: warning: --include-weights and --exclude-weights select importance matrix entries; "
                 "without --imatrix they change nothing\n";
  auto registry = common.load_registry();
  if (!imatrix_path.empty()) {
    auto loaded = pipeline::load_imatrix(*registry, imatrix_path);
    if (!loaded.ok()) return report_error(loaded.status());
    request.importance = std::move(loaded).value();
  }
  if (preset->is_recipe_preset())
    if (Status s = refuse_llama_switches(*preset, preset_options, imatrix_path, switches); !s.ok())
      return report_error(s);
  auto planned = preset->is_recipe_preset()
                     ? plan_recipe_preset(*registry, *args, *preset, preset_options, request.settings, *split)
                     : pipeline::plan_quantize(*registry, std::move(request));
  if (!planned.ok()) return report_error(planned.status());
  if (!args->output_named && preset->is_recipe_preset())
    args->output =
        planned->conversion.folder.empty() ? planned->conversion.files.front().path : planned->conversion.folder;
  if (Status s = apply_compress(compress, planned->conversion); !s.ok()) return report_error(s);
  const pipeline::Plan& plan = planned->conversion.plan;
  const pipeline::PresetReport& report = planned->report;

  if (dry_run) {
    print_dry_run(planned->conversion, *preset, report);
    return kExitOk;
  }

  pipeline::ExecutionHooks hooks;
  std::vector<pipeline::TranscodeRoute> routes;
  hooks.routes = &routes;
  hooks.on_progress = progress.engine_callback();
  progress.start(start_of(planned->conversion));
  if (Status s = pipeline::execute_conversion(*registry, planned->conversion, hooks); !s.ok()) return report_error(s);
  std::string card_path;
  if (model_card) {
    auto written = pipeline::write_model_card(
        *registry, {written_files(planned->conversion, args->output), preset->name, {args->input}, force});
    if (!written.ok()) return report_error(written.status());
    card_path = *written;
  }
  if (progress.json()) {
    nlohmann::json done = done_event(planned->conversion, progress.seconds());
    done["model_card"] = card_path.empty() ? nlohmann::json() : nlohmann::json(card_path);
    progress.done(done);
  } else if (!quiet) {
    if (!card_path.empty()) std::cout << fmt::format("model card: {}\n", card_path);
    const pipeline::PlanTotals totals = pipeline::totals_of(plan);
    std::cout << fmt::format("wrote {} ({}): {} tensors, {} -> {} of tensor data\n",
                             describe_written(planned->conversion, args->output), preset->name, totals.tensors,
                             core::format_size(totals.source_bytes), core::format_size(totals.target_bytes));
    if (const std::string direct = pipeline::direct_summary(routes); !direct.empty()) std::cout << direct << "\n";
  }
  if (!quiet && report.fallbacks > 0)
    std::cerr << fmt::format(
        "quantflow: warning: {} of {} tensors did not fit their type's block and used a "
        "fallback type (--dry-run lists them; --no-fallback refuses them)\n",
        report.fallbacks, plan.jobs.size());
  return kExitOk;
}

}  // namespace quantflow::cli
