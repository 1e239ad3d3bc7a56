// The conformance kit behind `quantflow plugin-check PLUGIN.so`: loads exactly one plugin
// file and runs every check a third-party plugin must pass before it is safe to use.
//
// Plugin level: the file loads through the registry's own loader (same messages as a normal
// run), the descriptor is sane. Per codec: descriptor sanity (names, geometry, flags,
// container ids), round trips on standard inputs (zeros, constants, a ramp, random rows,
// extremes, subnormals, NaN/Inf), error codes returned as values (imatrix, bad row length),
// determinism and thread safety. Per container: probe on empty and garbage bytes, a
// writer -> reader round trip through a temporary file, and error values for a missing and a
// truncated file. Per transcoder (when both its codecs are loaded): row lengths refused as
// values, decoded values equal bit for bit, QF_CODEC_INEXACT only when allowed, determinism.
// Every call into the plugin runs in a forked child (isolation.hpp), so a
// crash, a hang or an escaping exception becomes a FAIL line naming the check instead of
// taking quantflow down.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace quantflow::conformance {

enum class Verdict { passed, failed, skipped };

// "passed", "failed", "skipped": the words of the JSON output.
const char* verdict_name(Verdict verdict);

// One line of the report: "PASS  codec q4_0: zeros: decode gives exactly 0".
struct Check {
  std::string subject;  // "plugin", "codec" or "container"
  std::string name;     // the codec's or container's name; empty for plugin-level checks
  std::string check;    // a short snake_case id: "load", "zeros", "round_trip", ...
  Verdict verdict = Verdict::passed;
  std::string reason;  // one line a plugin author understands
};

struct PluginReport {
  std::string file;
  bool loaded = false;  // the loader accepted the file; the plugin fields are set only then
  std::string plugin_name;
  std::string plugin_version;
  std::string plugin_description;
  std::vector<Check> checks;

  size_t count(Verdict verdict) const;
  bool passed() const { return count(Verdict::failed) == 0; }
};

struct CheckOptions {
  // Searched after the built-in directory and QUANTFLOW_PLUGIN_PATH, as in every command:
  // the plugins found there are what names must not clash with, and they provide the
  // encodings a container's round trip writes.
  std::vector<std::string> plugin_dirs;
};

// Runs every check on the plugin file at `path` (which must exist; the caller reports a
// missing file as a usage error). Never throws for anything the plugin does.
PluginReport check_plugin(const std::string& path, const CheckOptions& options);

}  // namespace quantflow::conformance
