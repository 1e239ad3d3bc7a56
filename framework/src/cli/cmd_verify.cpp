#include <cmath>
#include <iostream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cli_common.hpp"
#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "pipeline/analysis/verify.hpp"

namespace quantflow::cli {

namespace {

using pipeline::TensorVerdict;
using pipeline::VerifyReport;
using pipeline::VerifyStatus;

std::string summary_line(const VerifyReport& report) {
  return fmt::format("verified {} tensors: {} passed, {} failed, {} not checked", report.tensors.size(),
                     report.count(VerifyStatus::passed), report.count(VerifyStatus::failed),
                     report.count(VerifyStatus::not_checked));
}

void print_text(const std::string& path, const std::optional<std::string>& original, const VerifyReport& report) {
  std::cout << fmt::format("file:       {}\n", path);
  std::cout << fmt::format("container:  {}{}\n", report.container,
                           report.version.empty() ? "" : " (version " + report.version + ")");
  print_properties(report.properties);
  std::cout << "structure:  passed (header, tensor offsets, alignment and sizes)\n";
  if (original) std::cout << fmt::format("against:    {}\n", *original);

  size_t name_width = 6, dtype_width = 5;
  for (const auto& v : report.tensors) {
    name_width = std::max(name_width, v.name.size());
    dtype_width = std::max(dtype_width, v.dtype.size());
  }
  std::cout << fmt::format("\n  {:<{}}  {:<{}}  {:<11}  {:>10}  {:>10}  {}\n", "tensor", name_width, "dtype",
                           dtype_width, "status", "rel RMSE", "max abs", "note");
  for (const TensorVerdict& v : report.tensors) {
    const std::string rel = v.measured ? fmt::format("{:.4g}", v.rel_rmse) : "-";
    const std::string max = v.measured ? fmt::format("{:.4g}", v.max_abs) : "-";
    std::string line =
        fmt::format("  {:<{}}  {:<{}}  {:<11}  {:>10}  {:>10}  {}", v.name, name_width, v.dtype.empty() ? "-" : v.dtype,
                    dtype_width, pipeline::verify_status_name(v.status), rel, max, v.reason);
    line.erase(line.find_last_not_of(' ') + 1);  // no trailing blanks when there is no note
    std::cout << line << "\n";
  }
  std::cout << "\n" << summary_line(report) << std::endl;
}

nlohmann::json verify_json(const std::string& path, const std::optional<std::string>& original,
                           const VerifyReport& report) {
  nlohmann::json out;
  out["file"] = path;
  out["against"] = original ? nlohmann::json(*original) : nlohmann::json(nullptr);
  out["container"] = report.container;
  out["version"] = report.version;
  out["properties"] = properties_json(report.properties);
  out["structure"] = "passed";
  out["tensors"] = nlohmann::json::array();
  for (const TensorVerdict& v : report.tensors) {
    const char* status = v.status == VerifyStatus::passed   ? "passed"
                         : v.status == VerifyStatus::failed ? "failed"
                                                            : "not_checked";
    nlohmann::json entry = {{"name", v.name}, {"dtype", v.dtype}, {"status", status}, {"reason", v.reason}};
    if (v.measured) {
      // JSON has no infinity: an unbounded error is written as null.
      entry["rel_rmse"] = std::isfinite(v.rel_rmse) ? nlohmann::json(v.rel_rmse) : nlohmann::json(nullptr);
      entry["max_abs"] = v.max_abs;
      entry["bound"] = v.bound;
    }
    out["tensors"].push_back(entry);
  }
  out["summary"] = {{"tensors", report.tensors.size()},
                    {"passed", report.count(VerifyStatus::passed)},
                    {"failed", report.count(VerifyStatus::failed)},
                    {"not_checked", report.count(VerifyStatus::not_checked)}};
  out["result"] = report.passed() ? "passed" : "failed";
  return out;
}

}  // namespace

int run_verify(int argc, char** argv) {
  CommonOptions common;
  std::string path, against;
  bool json = false;
  po::options_description options("options");
  options.add_options()("file", po::value(&path)->required(), "the model file to verify")(
      "against", po::value(&against),
      "the file FILE was converted from: compare every tensor with it by name and bound the error")(
      "json", po::bool_switch(&json), "print JSON instead of text");
  ProgressOption progress_option;
  progress_option.add_to(options);
  common.add_to(options);
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  int exit_code = 0;
  if (!parse_command_line(argc, argv,
                          "usage: quantflow verify FILE [--against ORIGINAL] [--json]\n\n"
                          "Checks that FILE opens, that every tensor's bytes have the size its encoding needs\n"
                          "and decode to finite values (tensors no loaded codec decodes are 'not checked').\n"
                          "With --against, also matches tensors by name with ORIGINAL, fails missing and\n"
                          "extra tensors and shape changes, and fails a tensor whose relative RMSE exceeds\n"
                          "its encoding's bound (identical encodings must be bit-identical).\n\n"
                          "Exit status: 0 all checks passed, 1 a check failed, 2 a file cannot be opened.",
                          options, positional, vm, exit_code))
    return exit_code;

  const std::optional<std::string> original = vm.count("against") ? std::optional(against) : std::nullopt;
  const auto mode = progress_option.resolve(false);
  if (!mode.ok()) return report_error(mode.status());
  ProgressReporter progress(*mode);
  std::vector<std::string> inputs{path};
  if (original) inputs.push_back(*original);
  auto registry = common.load_registry();
  auto report = pipeline::verify_model(*registry, path, original, progress.read_callback(inputs));
  if (!report.ok()) {
    report_error(report.status());
    return kExitUsage;  // a file that does not open is bad input, whatever the OS said
  }
  if (progress.json())
    progress.done_reading("verify", verify_json(path, original, *report));
  else if (json)
    std::cout << verify_json(path, original, *report).dump(2, ' ', false, kJsonInvalidUtf8) << std::endl;
  else
    print_text(path, original, *report);
  return report->passed() ? kExitOk : kExitFailure;
}

}  // namespace quantflow::cli
