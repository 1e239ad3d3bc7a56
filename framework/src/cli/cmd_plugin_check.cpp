// `quantflow plugin-check PLUGIN.so`: the conformance kit (framework/src/conformance) as a
// command, one line per check, or one JSON document.
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cli_common.hpp"
#include "cli/commands.hpp"
#include "conformance/conformance.hpp"
#include "quantflow/plugin.hpp"

namespace quantflow::cli {

namespace {

using conformance::Check;
using conformance::PluginReport;
using conformance::Verdict;

constexpr const char* kUsage =
    "usage: quantflow plugin-check PLUGIN.so [--json] [--plugin-dir DIR]...\n\n"
    "Checks that a plugin is safe to use and prints one line per check: PASS, FAIL or SKIP,\n"
    "the codec or container it concerns, and why.\n\n"
    "  plugin     the file loads, exports quantflow_plugin_descriptor and was built for this\n"
    "             quantflow's ABI version; name, version and description are set\n"
    "  codec      names (lower-case, not taken by another plugin on the search path),\n"
    "             description, block geometry, flags, container ids; round trips of zeros\n"
    "             (must decode to exactly 0), constants, a ramp and gaussian rows (finite, and\n"
    "             within a relative RMS error bound derived from the bits per element),\n"
    "             +-65504 and +-1e30, subnormals, NaN and infinities (block codecs must\n"
    "             return QF_CODEC_NON_FINITE); imatrix handling; QF_CODEC_BAD_ROW_LENGTH for\n"
    "             a row that is not whole blocks; the same bytes when encoding twice and when\n"
    "             encoding rows on several threads at once\n"
    "  container  names, description, extensions; probe on empty and garbage bytes answers\n"
    "             0..100; a small model with f32 tensors, bundled encodings and metadata\n"
    "             written and read back unchanged; a missing and a truncated file give errors\n\n"
    "Each check runs in a child process, so a plugin that crashes, hangs or throws fails\n"
    "the check instead of stopping plugin-check. It takes about a second.\n\n"
    "Exit status: 0 every check passed (skipped checks included), 1 a check failed,\n"
    "2 usage error (no such file).";

constexpr const char* kTags[] = {"PASS", "FAIL", "SKIP"};  // by Verdict

std::string subject_of(const Check& c) { return c.name.empty() ? c.subject : c.subject + " " + c.name; }

std::string summary_line(const PluginReport& report) {
  return fmt::format("{} check{}: {} passed, {} failed, {} skipped", report.checks.size(),
                     report.checks.size() == 1 ? "" : "s", report.count(Verdict::passed), report.count(Verdict::failed),
                     report.count(Verdict::skipped));
}

void print_text(const PluginReport& report) {
  std::cout << fmt::format("plugin-check {}\n", report.file);
  if (report.loaded)
    std::cout << fmt::format("plugin:      {} {}: {}\n", report.plugin_name, report.plugin_version,
                             report.plugin_description);
  std::cout << "\n";
  for (const Check& c : report.checks) {
    std::string reason = c.reason;
    for (char& ch : reason)
      if (ch == '\n' || ch == '\r') ch = ' ';
    std::cout << fmt::format("{}  {}: {}: {}\n", kTags[static_cast<int>(c.verdict)], subject_of(c), c.check, reason);
  }
  std::cout << "\n" << summary_line(report) << std::endl;
}

void print_json(const PluginReport& report) {
  nlohmann::json out;
  out["file"] = report.file;
  out["abi_version"] = QUANTFLOW_ABI_VERSION;
  out["plugin"] = report.loaded ? nlohmann::json{{"name", report.plugin_name},
                                                 {"version", report.plugin_version},
                                                 {"description", report.plugin_description}}
                                : nlohmann::json(nullptr);
  out["checks"] = nlohmann::json::array();
  for (const Check& c : report.checks)
    out["checks"].push_back({{"subject", c.subject},
                             {"name", c.name.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.name)},
                             {"check", c.check},
                             {"status", conformance::verdict_name(c.verdict)},
                             {"reason", c.reason}});
  out["summary"] = {{"checks", report.checks.size()},
                    {"passed", report.count(Verdict::passed)},
                    {"failed", report.count(Verdict::failed)},
                    {"skipped", report.count(Verdict::skipped)}};
  out["result"] = report.passed() ? "passed" : "failed";
  std::cout << out.dump(2, ' ', false, kJsonInvalidUtf8) << std::endl;
}

}  // namespace

int run_plugin_check(int argc, char** argv) {
  CommonOptions common;
  std::string path;
  bool json = false;
  po::options_description options("options");
  options.add_options()("file", po::value(&path)->required(), "the plugin file to check")(
      "json", po::bool_switch(&json), "print one JSON document instead of text (docs/json.md)");
  common.add_to(options);
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  int exit_code = 0;
  if (!parse_command_line(argc, argv, kUsage, options, positional, vm, exit_code)) return exit_code;

  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return report_error(usage_error("no such file").with_file(path));
  if (std::filesystem::is_directory(path, ec))
    return report_error(usage_error("is a directory, not a plugin file").with_file(path));

  const PluginReport report = conformance::check_plugin(path, {.plugin_dirs = common.plugin_dirs});
  if (json)
    print_json(report);
  else
    print_text(report);
  return report.passed() ? kExitOk : kExitFailure;
}

}  // namespace quantflow::cli
