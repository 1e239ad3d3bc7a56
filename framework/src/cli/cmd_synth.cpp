#include <iostream>

#include <fmt/format.h>

#include "cli/cli_common.hpp"
#include "cli/commands.hpp"
#include "cli/conversion_events.hpp"
#include "cli/progress.hpp"
#include "core/synthetic_model.hpp"
#include "core/units.hpp"
#include "pipeline/engine/conversion.hpp"
#include "pipeline/engine/convert.hpp"

namespace quantflow::cli {

int run_synth(int argc, char** argv) {
  CommonOptions common;
  core::SyntheticModelShape shape;
  std::string output, format;
  po::options_description options("options");
  options.add_options()("output", po::value(&output)->required(), "the file to write")(
      "to", po::value(&format), "output container (default: from the extension)")(
      "vocab", po::value(&shape.vocab)->default_value(shape.vocab), "vocabulary size")(
      "hidden", po::value(&shape.hidden)->default_value(shape.hidden), "embedding width")(
      "ffn", po::value(&shape.ffn)->default_value(shape.ffn), "feed-forward width")(
      "layers", po::value(&shape.layers)->default_value(shape.layers), "transformer blocks")(
      "heads", po::value(&shape.heads)->default_value(shape.heads), "attention heads")(
      "kv-heads", po::value(&shape.kv_heads)->default_value(shape.kv_heads), "key/value heads")(
      "seed", po::value(&shape.seed)->default_value(shape.seed), "random seed (same seed, same bytes)");
  ProgressOption progress_option;
  progress_option.add_to(options);
  common.add_to(options);
  po::positional_options_description positional;
  positional.add("output", 1);
  po::variables_map vm;
  int exit_code = 0;
  if (!parse_command_line(argc, argv,
                          "usage: quantflow synth OUT [--layers N --hidden N --ffn N --vocab N ...]\n\n"
                          "Writes a llama-shaped model with seeded gaussian F32 weights, generated tensor by\n"
                          "tensor (memory stays bounded at any size). For demos, tests and benchmarks.",
                          options, positional, vm, exit_code))
    return exit_code;
  if (shape.heads == 0 || shape.kv_heads == 0 || shape.hidden % shape.heads != 0 || shape.heads % shape.kv_heads != 0)
    return report_error(usage_error("--hidden must be a multiple of --heads, and --heads a multiple of --kv-heads"));

  const auto mode = progress_option.resolve(false);
  if (!mode.ok()) return report_error(mode.status());
  ProgressReporter progress(*mode);
  auto registry = common.load_registry();
  auto container = pipeline::output_container(*registry, output, format);
  if (!container.ok()) return report_error(container.status());
  pipeline::Conversion conversion;
  conversion.container = *container;
  conversion.source = core::make_synthetic_model(shape);
  conversion.plan = pipeline::copy_plan(*conversion.source);
  pipeline::write_to_one_file(conversion, output);
  progress.start(start_of(conversion));
  pipeline::ExecutionHooks hooks;
  hooks.on_progress = progress.engine_callback();
  if (Status s = pipeline::execute_conversion(*registry, conversion, hooks); !s.ok()) return report_error(s);
  if (progress.json()) {
    progress.done(done_event(conversion, progress.seconds()));
    return kExitOk;
  }
  const pipeline::PlanTotals totals = pipeline::totals_of(conversion.plan);
  std::cout << fmt::format("wrote {}: {} tensors, {} of F32 weights\n", output, totals.tensors,
                           core::format_size(totals.target_bytes));
  return kExitOk;
}

}  // namespace quantflow::cli
