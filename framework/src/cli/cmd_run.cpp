// `quantflow run RECIPE` and `quantflow estimate RECIPE`: YAML conversion recipes.
#include <chrono>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cli_common.hpp"
#include "cli/commands.hpp"
#include "cli/conversion_events.hpp"
#include "cli/progress.hpp"
#include "core/units.hpp"
#include "core/atomic_output.hpp"
#include "pipeline/analysis/model_card.hpp"
#include "pipeline/recipe/recipe_plan.hpp"
#include "pipeline/analysis/report.hpp"
#include "pipeline/engine/carried_files.hpp"
#include "pipeline/engine/direct.hpp"
#include "pipeline/engine/fallbacks.hpp"
#include "pipeline/engine/output_files.hpp"

namespace quantflow::cli {

namespace {

struct RecipeCommandOptions {
  std::string recipe;
  std::vector<std::string> sets;
  int threads = -1;  // -1: the recipe's value
  std::string memory_limit;
  std::string compress;  // empty: the recipe's output.compress
  bool json = false;
  std::string report;
  bool model_card = false;
  bool force = false;
  bool no_direct = false;
  SplitOptions split;  // overrides output.split_size / output.split_max_tensors
};

void add_recipe_options(po::options_description& options, RecipeCommandOptions& o) {
  options.add_options()("recipe", po::value(&o.recipe)->required(), "the YAML recipe")(
      "set", po::value(&o.sets)->composing(),
      "override a recipe value before validation: KEY=VALUE with a dotted KEY and a YAML VALUE, e.g. "
      "output.path=x.gguf, default_type=q8_0, inputs=[a.gguf,b.gguf] (repeatable)")(
      "threads", po::value(&o.threads), "worker threads, overriding the recipe (0: all cores)")(
      "memory-limit", po::value(&o.memory_limit), "budget for tensor data in flight, e.g. 2G, overriding the recipe")(
      "json", po::bool_switch(&o.json), "machine-readable output: one JSON object per line on stdout")(
      "no-direct", po::bool_switch(&o.no_direct),
      "never use a plugin's transcoder: decode every re-encoded tensor to f32 and encode it");
  o.split.add_to(options);
}

// What only `run` does with a recipe: write the output, its report and its model card.
void add_writing_options(po::options_description& options, RecipeCommandOptions& o) {
  options.add_options()("report", po::value(&o.report),
                        "measure every re-encoded tensor's round-trip error and write the JSON report to this file "
                        "(overrides output.report)")(
      "model-card", po::bool_switch(&o.model_card),
      "write a README.md model card beside the output (as output.model_card: true)")(
      "force", po::bool_switch(&o.force), "let the model card replace an existing README.md beside the output");
  add_compress_option(options, o.compress);  // overrides output.compress
}

// The recipe is the one positional argument of both recipe commands.
bool parse_recipe_command(int argc, char** argv, const std::string& usage, po::options_description& options,
                          CommonOptions& common, int& exit_code) {
  common.add_to(options);
  po::positional_options_description positional;
  positional.add("recipe", 1);
  po::variables_map vm;
  return parse_command_line(argc, argv, usage, options, positional, vm, exit_code);
}

void print_warning(const std::string& message, bool json) {
  if (json)
    std::cout << nlohmann::json{{"event", "warning"}, {"message", message}}.dump(-1, ' ', false, kJsonInvalidUtf8)
              << std::endl;
  else
    std::cerr << "quantflow: warning: " << message << std::endl;
}

// Loads, validates and plans the recipe with the command-line overrides applied.
Result<pipeline::RecipePlan> plan_from(const core::Registry& registry, const RecipeCommandOptions& o) {
  std::vector<pipeline::RecipeOverride> overrides;
  for (const auto& s : o.sets) {
    QF_ASSIGN_OR_RETURN(auto override_value, pipeline::parse_override(s));
    overrides.push_back(std::move(override_value));
  }
  QF_ASSIGN_OR_RETURN(auto recipe, pipeline::load_recipe(o.recipe, overrides));
  if (!o.report.empty()) recipe.output.report = {o.report, {"--report", 0, 0}};
  if (o.model_card) recipe.output.model_card = {true, {"--model-card", 0, 0}};
  QF_ASSIGN_OR_RETURN(const pipeline::SplitLimits limits, o.split.limits());
  if (limits.max_bytes > 0) recipe.output.split_size = {limits.max_bytes, {"--split-max-size", 0, 0}};
  if (limits.max_tensors > 0) recipe.output.split_max_tensors = {limits.max_tensors, {"--split-max-tensors", 0, 0}};
  QF_ASSIGN_OR_RETURN(auto plan, pipeline::plan_recipe(registry, recipe));
  if (o.threads >= 0) plan.settings.threads = o.threads;
  if (!o.compress.empty()) QF_RETURN_IF_ERROR(apply_compress(o.compress, plan));
  if (!o.memory_limit.empty()) {
    QF_ASSIGN_OR_RETURN(plan.settings.memory_budget, core::parse_size(o.memory_limit));
  }
  if (o.no_direct) {
    plan.settings.direct_transcoding = false;
    pipeline::choose_transcoders(plan, registry);
  }
  for (const auto& w : plan.warnings) print_warning(w, o.json);
  return plan;
}

nlohmann::json per_type_json(const pipeline::OutputEstimate& estimate) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [type, totals] : estimate.per_type)
    out[type] = {{"tensors", totals.first}, {"bytes", totals.second}};
  return out;
}

void print_per_type(const pipeline::OutputEstimate& estimate) {
  for (const auto& [type, totals] : estimate.per_type)
    std::cout << fmt::format("  {:<10} {:>6} tensors  {:>14} bytes  ({})\n", type, totals.first, totals.second,
                             core::format_size(totals.second));
}

void print_dry_run(const RecipeCommandOptions& o, const pipeline::RecipePlan& plan,
                   const pipeline::OutputEstimate& estimate) {
  if (o.json) {
    nlohmann::json tensors = nlohmann::json::array();
    for (size_t i = 0; i < plan.plan.jobs.size(); ++i) {
      const auto& job = plan.plan.jobs[i];
      nlohmann::json tensor = {
          {"name", job.source.name},       {"output_name", job.target.name}, {"source_type", job.source.dtype.name},
          {"type", job.target.dtype.name}, {"bytes", job.target.n_bytes},    {"reason", job.reason}};
      if (const std::string_view route = pipeline::planned_route(job); !route.empty()) tensor["route"] = route;
      tensors.push_back(std::move(tensor));
    }
    nlohmann::json skipped = nlohmann::json::array();
    for (const auto& s : plan.skipped) skipped.push_back({{"name", s.name}, {"reason", s.reason}});
    nlohmann::json event = {{"event", "plan"},
                            {"container", plan.container->name},
                            {"tensors", tensors},
                            {"skipped", skipped},
                            {"files", files_json(estimate.files)},
                            {"bytes", estimate.file_bytes},
                            {"tensor_bytes", estimate.tensor_bytes},
                            {"per_type", per_type_json(estimate)},
                            {"memory_bytes", estimate.memory_bytes}};
    for (const auto& f : pipeline::fallbacks_of(plan.plan)) event["fallbacks"].push_back(pipeline::fallback_json(f));
    std::cout << event.dump(-1, ' ', false, kJsonInvalidUtf8) << std::endl;
    return;
  }
  std::cout << fmt::format("plan for {} ({} output, {} file{}):\n", o.recipe, plan.container->name, plan.files.size(),
                           plan.files.size() == 1 ? "" : "s");
  size_t reencoded = 0;
  for (size_t s = 0; s < plan.files.size(); ++s) {
    std::cout << fmt::format("{}:\n", plan.files[s].path);
    for (const auto& job : plan.files[s].plan.jobs) {
      reencoded += job.reencodes_a_source() ? 1 : 0;
      const std::string_view route = pipeline::planned_route(job);
      std::cout << fmt::format("  {} -> {}  {} -> {}  {} bytes{}\n", job.source.name, job.target.name,
                               job.source.dtype.name, job.target.dtype.name, job.target.n_bytes,
                               route.empty() ? "" : fmt::format("  ({})", route));
    }
  }
  for (const auto& s : plan.skipped) std::cout << fmt::format("  {} skipped ({})\n", s.name, s.reason);
  for (const auto& f : pipeline::fallbacks_of(plan.plan))
    std::cout << "fallback: " << pipeline::fallback_line(f) << "\n";
  std::cout << fmt::format("tensors: {} ({} re-encoded, {} skipped)\n", plan.plan.jobs.size(), reencoded,
                           plan.skipped.size());
  print_per_type(estimate);
  std::cout << fmt::format("output size: {} bytes ({})\n", estimate.file_bytes, core::format_size(estimate.file_bytes));
  std::cout << fmt::format("memory estimate: {} bytes ({})\n", estimate.memory_bytes,
                           core::format_size(estimate.memory_bytes));
}

}  // namespace

int run_run(int argc, char** argv) {
  CommonOptions common;
  RecipeCommandOptions o;
  bool dry_run = false, quiet = false;
  po::options_description options("options");
  add_recipe_options(options, o);
  add_writing_options(options, o);
  options.add_options()("dry-run,n", po::bool_switch(&dry_run),
                        "validate and print the plan (every tensor, output size, memory) without writing")(
      "quiet,q", po::bool_switch(&quiet), "print nothing on success");
  ProgressOption progress_option;
  progress_option.add_to(options);
  int exit_code = 0;
  if (!parse_recipe_command(argc, argv,
                            "usage: quantflow run RECIPE.yaml [--set KEY=VALUE]... [--dry-run] [--json]\n\n"
                            "Validates the recipe (errors name FILE:LINE:COLUMN), plans every tensor's output name\n"
                            "and encoding, then writes the output atomically. See docs/recipes.md.",
                            options, common, exit_code))
    return exit_code;

  // --json is the JSON event stream, tensor events included: --progress json.
  if (o.json && !progress_option.mode.empty() && progress_option.mode != "json")
    return report_error(usage_error(fmt::format(
        "--json prints JSON progress events; it cannot be combined with --progress {}", progress_option.mode)));
  if (o.json) progress_option.mode = "json";
  const auto mode = progress_option.resolve(quiet);
  if (!mode.ok()) return report_error(mode.status());
  o.json = *mode == ProgressMode::json;
  ProgressReporter progress(*mode);
  const auto start = std::chrono::steady_clock::now();
  auto registry = common.load_registry();
  auto plan = plan_from(*registry, o);
  if (!plan.ok()) return report_error(plan.status());
  if (dry_run) {
    auto estimate = pipeline::estimate_output(*registry, *plan);
    if (!estimate.ok()) return report_error(estimate.status());
    print_dry_run(o, *plan, *estimate);
    return kExitOk;
  }
  if (plan->model_card)
    for (const auto& file : plan->files)
      if (Status s = pipeline::check_model_card_target(file.path, o.force); !s.ok()) return report_error(s);
  progress.start(start_of(*plan));
  const bool measure = o.json || !plan->report_path.empty();
  std::vector<pipeline::TensorStats> stats;
  std::vector<pipeline::TranscodeRoute> routes;
  std::vector<std::string> carried;
  if (Status s = pipeline::execute_conversion(
          *registry, *plan, {progress.engine_callback(), measure ? &stats : nullptr, &routes, &carried, std::nullopt});
      !s.ok())
    return report_error(s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const pipeline::Report report = pipeline::make_report(plan->plan, stats, seconds);
  if (!plan->report_path.empty())
    if (Status s = core::write_file_atomically(
            plan->report_path, pipeline::report_to_json(report).dump(2, ' ', false, kJsonInvalidUtf8) + "\n",
            plan->input_paths);
        !s.ok())
      return report_error(s);
  std::string card_path;
  if (plan->model_card) {
    pipeline::ModelCardRequest card{{}, plan->quantization, plan->input_paths, o.force};
    for (const auto& file : plan->files) card.files.push_back(file.path);
    auto written = pipeline::write_model_card(*registry, card);
    if (!written.ok()) return report_error(written.status());
    card_path = *written;
  }

  const auto files = written_file_sizes(*plan);
  uint64_t file_bytes = 0;
  for (const auto& f : files) file_bytes += f.second;
  const pipeline::PlanTotals totals = pipeline::totals_of(plan->plan);
  const size_t reencoded = totals.reencoded;
  if (o.json) {
    nlohmann::json done = done_event(*plan, seconds);
    done["reencoded"] = reencoded;
    done["skipped"] = plan->skipped.size();
    done["model_card"] = card_path.empty() ? nlohmann::json() : nlohmann::json(card_path);
    done["report"] = pipeline::report_to_json(report);
    progress.done(done);
  } else if (!quiet) {
    std::cout << fmt::format("wrote {}{}: {} tensors ({} re-encoded, {} skipped), {} in {:.2f}s\n", files.front().first,
                             files.size() > 1 ? fmt::format(" and {} more", files.size() - 1) : "",
                             plan->plan.jobs.size(), reencoded, plan->skipped.size(), core::format_size(file_bytes),
                             seconds);
    if (const std::string direct = pipeline::direct_summary(routes); !direct.empty()) std::cout << direct << "\n";
    if (const std::string line = pipeline::carried_summary(*plan, carried); !line.empty()) std::cout << line << "\n";
    if (!plan->report_path.empty()) pipeline::print_report(std::cout, report);
    if (!card_path.empty()) std::cout << fmt::format("model card: {}\n", card_path);
  }
  return kExitOk;
}

int run_estimate(int argc, char** argv) {
  CommonOptions common;
  RecipeCommandOptions o;
  po::options_description options("options");
  add_recipe_options(options, o);
  int exit_code = 0;
  if (!parse_recipe_command(argc, argv,
                            "usage: quantflow estimate RECIPE.yaml [--set KEY=VALUE]... [--json]\n\n"
                            "Prints the exact size of the files the recipe would write (headers included) and the\n"
                            "tensor data per encoding, without reading or writing any tensor data.",
                            options, common, exit_code))
    return exit_code;
  auto registry = common.load_registry();
  auto plan = plan_from(*registry, o);
  if (!plan.ok()) return report_error(plan.status());
  auto estimate = pipeline::estimate_output(*registry, *plan);
  if (!estimate.ok()) return report_error(estimate.status());
  if (o.json) {
    std::cout << nlohmann::json{{"event", "estimate"},
                                {"bytes", estimate->file_bytes},
                                {"tensor_bytes", estimate->tensor_bytes},
                                {"per_type", per_type_json(*estimate)},
                                {"files", files_json(estimate->files)},
                                {"memory_bytes", estimate->memory_bytes}}
                     .dump(-1, ' ', false, kJsonInvalidUtf8)
              << std::endl;
    return kExitOk;
  }
  for (const auto& [path, bytes] : estimate->files) std::cout << fmt::format("{}: {} bytes\n", path, bytes);
  print_per_type(*estimate);
  std::cout << fmt::format("tensor data: {} bytes ({})\n", estimate->tensor_bytes,
                           core::format_size(estimate->tensor_bytes));
  std::cout << fmt::format("output size: {} bytes ({})\n", estimate->file_bytes,
                           core::format_size(estimate->file_bytes));
  return kExitOk;
}

}  // namespace quantflow::cli
