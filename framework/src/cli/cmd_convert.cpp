#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_common.hpp"
#include "cli/commands.hpp"
#include "cli/conversion_events.hpp"
#include "cli/progress.hpp"
#include "core/atomic_output.hpp"
#include "pipeline/analysis/model_card.hpp"
#include "core/units.hpp"
#include "pipeline/analysis/report.hpp"
#include "pipeline/engine/carried_files.hpp"
#include "pipeline/engine/convert.hpp"
#include "pipeline/engine/direct.hpp"
#include "pipeline/llama/hf_checkpoint/adapt.hpp"
#include "pipeline/llama/imatrix.hpp"
#include "pipeline/llama/lora/adapt.hpp"

namespace quantflow::cli {

int run_convert(int argc, char** argv) {
  CommonOptions common;
  pipeline::ConvertRequest request;
  std::string memory_limit, imatrix_path, compress, base;
  std::vector<std::string> writer_options;
  std::vector<std::string> fallbacks;
  bool force = false, no_direct = false;
  std::string report_path;
  bool quiet = false;
  bool model_card = false;
  po::options_description options("options");
  options.add_options()("input", po::value(&request.input)->required(), "the model file to read")(
      "output", po::value(&request.output)->required(), "the file to write (never the input)")(
      "to", po::value(&request.output_format), "output container (default: from the output's extension)")(
      "type", po::value(&request.type.type),
      "re-encode every matrix of a decodable encoding to TYPE (e.g. q8_0, q4_k, f16, mlx_q4); with a plain TYPE "
      "such as f32, quantized tensors of any shape are decoded")(
      "bits", po::value(&request.type.bits),
      "with --type mlx: bits per weight of MLX's affine mode (2, 3, 4, 5, 6 or 8; default 4)")(
      "group-size", po::value(&request.type.group_size),
      "elements per group of a grouped type such as mlx_q4 (32, 64 or 128; default 64)")(
      "mode", po::value(&request.type.mode), "with --type mlx: affine (default), mxfp4, mxfp8 or nvfp4")(
      "fallback", po::value(&fallbacks)->composing(),
      "encodings, in order of preference (comma-separated or repeated), for tensors whose row length is not a "
      "multiple of TYPE's block size; the first that fits is used (default: refuse them)")(
      "imatrix", po::value(&imatrix_path),
      "importance matrix from llama.cpp's imatrix tool (GGUF or legacy .dat), applied to each tensor by name")(
      "threads", po::value(&request.settings.threads)->default_value(0), "worker threads (0: all cores)")(
      "memory-limit", po::value(&memory_limit),
      "budget for tensor data in flight, e.g. 2G (default: a quarter of RAM, at most 4G)")(
      "report", po::value(&report_path),
      "measure every re-encoded tensor's round-trip error and write a JSON report to this file (- for stdout); "
      "a table is printed too unless --quiet")("option", po::value(&writer_options)->composing(),
                                               "container writer option KEY=VALUE (repeatable)")(
      "model-card", po::bool_switch(&model_card), "write a README.md model card beside the output")(
      "force", po::bool_switch(&force), "let --model-card replace an existing README.md beside the output")(
      "no-direct", po::bool_switch(&no_direct),
      "never use a plugin's transcoder: decode every re-encoded tensor to f32 and encode it (default: quantized "
      "tensors are re-packed directly where a transcoder exists and the values stay exact)")(
      "quiet,q", po::bool_switch(&quiet), "print nothing on success")(
      "base", po::value(&base),
      "when IN is a PEFT LoRA adapter folder: the base model's folder (or its config.json); OUT is then a GGUF "
      "LoRA, --type f32 (default), f16, bf16 or q8_0");
  add_compress_option(options, compress);
  ProgressOption progress_option;
  progress_option.add_to(options);
  SplitOptions split;
  split.add_to(options);
  common.add_to(options);
  po::positional_options_description positional;
  positional.add("input", 1).add("output", 1);
  po::variables_map vm;
  int exit_code = 0;
  if (!parse_command_line(argc, argv,
                          "usage: quantflow convert IN OUT [--to FORMAT] [--type TYPE]\n\n"
                          "Copies every tensor and all metadata from IN to OUT, changing the container and,\n"
                          "with --type, the encoding of eligible tensors. Tensors not re-encoded keep their bytes.\n"
                          "OUT is written to a temporary file beside it and renamed only on success.",
                          options, positional, vm, exit_code))
    return exit_code;

  const auto mode = progress_option.resolve(quiet);
  if (!mode.ok()) return report_error(mode.status());
  ProgressReporter progress(*mode);
  for (const auto& list : fallbacks)
    for (size_t begin = 0; begin <= list.size();) {
      const size_t end = std::min(list.find(',', begin), list.size());
      if (end > begin) request.fallback.push_back(list.substr(begin, end - begin));
      begin = end + 1;
    }
  if (request.type.empty() && request.type.is_grouped())
    return report_error(usage_error("--bits, --group-size and --mode need --type (e.g. --type mlx)"));
  if (!memory_limit.empty()) {
    auto bytes = core::parse_size(memory_limit);
    if (!bytes.ok()) return report_error(bytes.status());
    request.settings.memory_budget = *bytes;
  }
  request.settings.direct_transcoding = !no_direct;
  if (auto limits = split.limits(); limits.ok()) {
    request.split = *limits;
  } else {
    return report_error(limits.status());
  }
  for (const auto& kv : writer_options) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return report_error(usage_error(fmt::format("--option '{}' must be KEY=VALUE", kv)));
    request.writer_options[kv.substr(0, eq)] = kv.substr(eq + 1);
  }

  if (model_card)
    if (Status s = pipeline::check_model_card_target(request.output, force); !s.ok()) return report_error(s);
  const auto start = std::chrono::steady_clock::now();
  auto registry = common.load_registry();
  if (!imatrix_path.empty()) {
    auto imatrix = pipeline::load_imatrix(*registry, imatrix_path);
    if (!imatrix.ok()) return report_error(imatrix.status());
    request.importance = std::move(imatrix).value();
  }
  request.adapt_input = pipeline::hf::adapt_checkpoint;  // a Hugging Face folder to GGUF, as llama.cpp writes it
  if (Status s = pipeline::lora::route_adapter(request, base); !s.ok()) return report_error(s);  // a LoRA adapter
  auto conversion = pipeline::plan_convert(*registry, request);
  if (!conversion.ok()) return report_error(conversion.status());
  if (Status s = apply_compress(compress, *conversion); !s.ok()) return report_error(s);
  pipeline::ExecutionHooks hooks;
  std::vector<pipeline::TensorStats> stats;
  std::vector<pipeline::TranscodeRoute> routes;
  hooks.routes = &routes;
  std::vector<std::string> carried;
  hooks.carried = &carried;
  hooks.on_progress = progress.engine_callback();
  if (!report_path.empty()) hooks.stats = &stats;
  progress.start(start_of(*conversion));
  if (Status s = pipeline::execute_conversion(*registry, *conversion, hooks); !s.ok()) return report_error(s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const pipeline::PlanTotals totals = pipeline::totals_of(conversion->plan);
  nlohmann::json report_json;  // for the done event
  if (!report_path.empty()) {
    const pipeline::Report report = pipeline::make_report(conversion->plan, stats, seconds);
    report_json = pipeline::report_to_json(report);
    const std::string json = report_json.dump(2, ' ', false, kJsonInvalidUtf8) + "\n";
    if (report_path == "-") {
      if (!progress.json()) std::cout << json;
    } else {
      if (Status s = core::write_file_atomically(report_path, json, {request.input}); !s.ok()) return report_error(s);
      if (!quiet && !progress.json()) pipeline::print_report(std::cout, report);
    }
  }
  std::string card_path;
  if (model_card) {
    auto written = pipeline::write_model_card(
        *registry, {written_files(*conversion, request.output), request.type.type, {request.input}, force});
    if (!written.ok()) return report_error(written.status());
    card_path = *written;
  }
  if (progress.json()) {
    nlohmann::json done = done_event(*conversion, seconds);
    done["reencoded"] = totals.reencoded;
    done["model_card"] = card_path.empty() ? nlohmann::json() : nlohmann::json(card_path);
    if (!report_json.is_null()) done["report"] = std::move(report_json);
    progress.done(done);
    return kExitOk;
  }
  progress.done({});
  if (!quiet && !card_path.empty()) std::cout << fmt::format("model card: {}\n", card_path);
  if (!quiet)
    std::cout << fmt::format("wrote {}: {} tensors ({} re-encoded), {} -> {} of tensor data in {:.2f}s\n",
                             describe_written(*conversion, request.output), totals.tensors, totals.reencoded,
                             core::format_size(totals.source_bytes), core::format_size(totals.target_bytes), seconds);
  if (const std::string direct = pipeline::direct_summary(routes); !quiet && !direct.empty())
    std::cout << direct << "\n";
  if (const std::string line = pipeline::carried_summary(*conversion, carried); !quiet && !line.empty())
    std::cout << line << "\n";
  return kExitOk;
}

}  // namespace quantflow::cli
