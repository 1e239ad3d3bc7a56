// llama-quantize's command line on quantflow's pipeline: the same arguments, the same
// per-tensor types (from YAML presets), the same bytes.
#include <strings.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "cli/cli_common.hpp"
#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "pipeline/analysis/model_card.hpp"
#include "core/units.hpp"
#include "pipeline/engine/direct.hpp"
#include "pipeline/llama/imatrix.hpp"
#include "pipeline/llama/quantize.hpp"
#include "pipeline/recipe/recipe_plan.hpp"
#include "pipeline/recipe/recipe_preset.hpp"

namespace quantflow::cli {

namespace {

namespace fs = std::filesystem;

struct QuantizeArgs {
  std::string input, output, type;
  int threads = 0;
  bool output_named = true;  // false: OUT was omitted and `output` is the default
};

bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// llama-quantize's positionals: IN [OUT] TYPE [NTHREADS]. When the second one names a type,
// the output goes beside the input as ggml-model-<TYPE>.gguf.
Result<QuantizeArgs> resolve_positionals(const std::vector<std::string>& positionals,
                                         std::optional<pipeline::Preset>& preset) {
  if (positionals.size() < 2 || positionals.size() > 4)
    return usage_error("expected IN.gguf [OUT.gguf] TYPE [NTHREADS] (see --help)");
  QuantizeArgs args;
  args.input = positionals[0];
  size_t next = 1;
  if (auto as_type = pipeline::load_preset(positionals[1]); as_type.ok()) {
    args.type = positionals[1];
    // llama-quantize names the file after the spelling its table matched: an alias stays an alias.
    std::string spelled = as_type->name;
    for (const auto& alias : as_type->aliases)
      if (strcasecmp(alias.c_str(), positionals[1].c_str()) == 0) spelled = alias;
    args.output = (fs::path(args.input).parent_path() / ("ggml-model-" + spelled + ".gguf")).string();
    preset = std::move(as_type).value();
    args.output_named = false;
    next = 2;
  } else {
    if (positionals.size() < 3) return usage_error("missing the quantization TYPE after the output file");
    args.output = positionals[1];
    args.type = positionals[2];
    auto loaded = pipeline::load_preset(args.type);
    if (!loaded.ok()) return loaded.take_status();
    preset = std::move(loaded).value();
    next = 3;
  }
  if (next < positionals.size()) {
    if (!all_digits(positionals[next]))
      return usage_error(fmt::format("NTHREADS must be a number, not '{}'", positionals[next]));
    args.threads = std::stoi(positionals[next]);
    ++next;
  }
  if (next != positionals.size()) return usage_error("too many arguments (see --help)");
  return args;
}

Result<std::pair<std::string, std::string>> split_assignment(const std::string& text, const char* option,
                                                             const char* form) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    return usage_error(fmt::format("{} '{}' must be {}", option, text, form));
  return std::pair{text.substr(0, eq), text.substr(eq + 1)};
}

void print_dry_run(const pipeline::Plan& plan, const pipeline::Preset& preset, const pipeline::PresetReport& report) {
  const pipeline::PlanTotals totals = pipeline::totals_of(plan);
  size_t name_width = 4;
  for (const auto& job : plan.jobs) name_width = std::max(name_width, job.source.name.size());
  std::cout << fmt::format("{:>5}  {:<{}}  {:<16}  {:<8}    {:<8}  {:>12}\n", "#", "name", name_width, "shape",
                           "source", "target", "bytes");
  for (size_t i = 0; i < plan.jobs.size(); ++i) {
    const auto& job = plan.jobs[i];
    const std::string_view route = pipeline::planned_route(job);
    std::cout << fmt::format("{:>5}  {:<{}}  {:<16}  {:<8} -> {:<8}  {:>12}{}\n", i, job.source.name, name_width,
                             shape_to_string(job.source.shape), job.source.dtype.name, job.target.dtype.name,
                             job.target.n_bytes, route.empty() ? "" : fmt::format("  ({})", route));
  }
  const std::string file_type =
      preset.is_recipe_preset() ? std::string() : fmt::format(" (file_type {})", preset.ftype);
  std::cout << fmt::format("{}{}: {} tensors, {} -> {} of tensor data", preset.name, file_type, totals.tensors,
                           core::format_size(totals.source_bytes), core::format_size(totals.target_bytes));
  if (report.fallbacks > 0) std::cout << fmt::format(", {} tensors used a fallback type", report.fallbacks);
  std::cout << "\n";
}

// llama-quantize's switches that a recipe preset has no use for, and what was given of them.
Status refuse_llama_switches(const pipeline::Preset& preset, const pipeline::PresetOptions& options,
                             const std::string& imatrix_path) {
  const std::pair<const char*, bool> given[] = {
      {"--imatrix", !imatrix_path.empty()},
      {"--output-tensor-type", !options.output_tensor_type.empty()},
      {"--token-embedding-type", !options.token_embedding_type.empty()},
      {"--leave-output-tensor", options.leave_output_tensor},
      {"--override-kv", !options.override_kv.empty()},
      {"--allow-requantize", options.allow_requantize},
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
                                                  const pipeline::ExecutionSettings& settings) {
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
  const pipeline::Recipe recipe =
      pipeline::recipe_for_preset(preset, args.input, output, options.pure, options.tensor_types);
  QF_ASSIGN_OR_RETURN(pipeline::RecipePlan planned, pipeline::plan_recipe(registry, recipe));
  for (const auto& warning : planned.warnings) std::cerr << "quantflow: warning: " << warning << "\n";
  pipeline::QuantizePlan out;
  out.conversion = std::move(static_cast<pipeline::Conversion&>(planned));
  out.conversion.settings = settings;
  pipeline::choose_transcoders(out.conversion, registry);
  return out;
}

}  // namespace

int run_quantize(int argc, char** argv) {
  CommonOptions common;
  std::vector<std::string> positionals, tensor_types, overrides;
  std::string imatrix_path, memory_limit, compress;
  pipeline::PresetOptions preset_options;
  int threads = 0;
  bool dry_run = false, quiet = false, model_card = false, force = false, no_direct = false;
  po::options_description options("options");
  options.add_options()("args", po::value(&positionals)->composing(), "IN [OUT] TYPE [NTHREADS]")(
      "imatrix", po::value(&imatrix_path), "importance matrix (GGUF or legacy .dat) from llama.cpp's imatrix tool")(
      "pure", po::bool_switch(&preset_options.pure), "use the default type for every tensor, ignoring the mixture")(
      "output-tensor-type", po::value(&preset_options.output_tensor_type), "type of output.weight (no fallback)")(
      "token-embedding-type", po::value(&preset_options.token_embedding_type),
      "type of token_embd.weight (no fallback)")(
      "tensor-type", po::value(&tensor_types)->composing(),
      "PATTERN=TYPE: tensors whose name matches the regular expression get TYPE; first match wins (repeatable)")(
      "leave-output-tensor", po::bool_switch(&preset_options.leave_output_tensor), "copy output.weight unchanged")(
      "override-kv", po::value(&overrides)->composing(),
      "KEY=TYPE:VALUE metadata to set, TYPE int, float, bool or str (repeatable)")(
      "allow-requantize", po::bool_switch(&preset_options.allow_requantize),
      "re-encode tensors that are already quantized")("threads", po::value(&threads)->default_value(0),
                                                      "worker threads (0: all cores; NTHREADS also sets it)")(
      "memory-limit", po::value(&memory_limit),
      "budget for tensor data in flight, e.g. 2G (default: a quarter of RAM, at most 4G)")(
      "dry-run", po::bool_switch(&dry_run), "print every tensor's planned type and size; write nothing")(
      "model-card", po::bool_switch(&model_card), "write a README.md model card beside the output")(
      "force", po::bool_switch(&force), "let --model-card replace an existing README.md beside the output")(
      "no-direct", po::bool_switch(&no_direct),
      "never use a plugin's transcoder: decode every re-encoded tensor to f32 and encode it")(
      "quiet,q", po::bool_switch(&quiet), "print nothing on success");
  add_compress_option(options, compress);
  common.add_to(options);
  po::positional_options_description positional;
  positional.add("args", -1);
  po::variables_map vm;
  int exit_code = 0;
  if (!parse_command_line(argc, argv,
                          "usage: quantflow quantize IN.gguf [OUT.gguf] TYPE [NTHREADS] [options]\n\n"
                          "Quantizes a GGUF model exactly as llama-quantize does: TYPE is a preset name such as\n"
                          "Q4_K_M, Q8_0 or IQ4_XS (case-insensitive), an ftype number, or a preset .yaml file.\n"
                          "Presets are searched in QUANTFLOW_CONFIG_PATH/presets, then the installed configs.\n"
                          "Without OUT the output is <dir of IN>/ggml-model-<TYPE>.gguf.\n"
                          "mlx-lm's mixed recipes are presets too (mixed_2_6, mixed_3_4, mixed_3_6, mixed_4_6):\n"
                          "IN is then any model (a Hugging Face folder, safetensors, GGUF), OUT an MLX folder\n"
                          "(default: IN-<TYPE>/ beside IN). See docs/presets.md.",
                          options, positional, vm, exit_code))
    return exit_code;

  std::optional<pipeline::Preset> preset;
  auto args = resolve_positionals(positionals, preset);
  if (!args.ok()) return report_error(args.status());
  if (threads == 0) threads = args->threads;
  for (const auto& text : tensor_types) {
    auto pair = split_assignment(text, "--tensor-type", "PATTERN=TYPE");
    if (!pair.ok()) return report_error(pair.status());
    preset_options.tensor_types.push_back(*pair);
  }
  for (const auto& text : overrides) {
    auto pair = split_assignment(text, "--override-kv", "KEY=TYPE:VALUE");
    if (!pair.ok()) return report_error(pair.status());
    preset_options.override_kv.push_back(*pair);
  }

  if (model_card)
    if (Status s = pipeline::check_model_card_target(args->output, force); !s.ok()) return report_error(s);
  pipeline::QuantizeRequest request{args->input, args->output, *preset, preset_options, imatrix_path, nullptr, {}};
  request.settings.threads = threads;
  request.settings.direct_transcoding = !no_direct;
  if (!memory_limit.empty()) {
    auto bytes = core::parse_size(memory_limit);
    if (!bytes.ok()) return report_error(bytes.status());
    request.settings.memory_budget = *bytes;
  }
  auto registry = common.load_registry();
  if (!imatrix_path.empty()) {
    auto loaded = pipeline::load_imatrix(*registry, imatrix_path);
    if (!loaded.ok()) return report_error(loaded.status());
    request.importance = std::move(loaded).value();
  }
  if (preset->is_recipe_preset())
    if (Status s = refuse_llama_switches(*preset, preset_options, imatrix_path); !s.ok()) return report_error(s);
  auto planned = preset->is_recipe_preset()
                     ? plan_recipe_preset(*registry, *args, *preset, preset_options, request.settings)
                     : pipeline::plan_quantize(*registry, std::move(request));
  if (!planned.ok()) return report_error(planned.status());
  if (!args->output_named && preset->is_recipe_preset())
    args->output =
        planned->conversion.folder.empty() ? planned->conversion.files.front().path : planned->conversion.folder;
  if (Status s = apply_compress(compress, planned->conversion); !s.ok()) return report_error(s);
  const pipeline::Plan& plan = planned->conversion.plan;
  const pipeline::PresetReport& report = planned->report;

  if (dry_run) {
    print_dry_run(plan, *preset, report);
    return kExitOk;
  }

  pipeline::ExecutionHooks hooks;
  std::vector<pipeline::TranscodeRoute> routes;
  hooks.routes = &routes;
  if (!quiet) hooks.on_progress = terminal_progress();
  if (Status s = pipeline::execute_conversion(*registry, planned->conversion, hooks); !s.ok()) return report_error(s);
  if (model_card) {
    auto written = pipeline::write_model_card(*registry, {{args->output}, preset->name, {args->input}, force});
    if (!written.ok()) return report_error(written.status());
    if (!quiet) std::cout << fmt::format("model card: {}\n", *written);
  }
  if (!quiet) {
    const pipeline::PlanTotals totals = pipeline::totals_of(plan);
    std::cout << fmt::format("wrote {} ({}): {} tensors, {} -> {} of tensor data\n", args->output, preset->name,
                             totals.tensors, core::format_size(totals.source_bytes),
                             core::format_size(totals.target_bytes));
    if (const std::string direct = pipeline::direct_summary(routes); !direct.empty()) std::cout << direct << "\n";
    if (report.fallbacks > 0)
      std::cerr << fmt::format(
          "quantflow: warning: {} of {} tensors did not fit their type's block and used a "
          "fallback type\n",
          report.fallbacks, plan.jobs.size());
  }
  return kExitOk;
}

}  // namespace quantflow::cli
