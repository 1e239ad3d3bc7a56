// `quantflow plugin-check`: every bundled plugin passes it, and each deliberately broken
// plugin (tests/plugins/conformance.cpp and the loader's broken plugins) fails with the
// exact FAIL line that names its defect.
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include <csignal>
#include <stdexcept>
#include <thread>

#include "conformance/accuracy.hpp"
#include "conformance/isolation.hpp"
#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::set<std::string> kPluginChecks = {"load", "descriptor"};
const std::set<std::string> kCodecChecks = {"name",          "description",    "geometry",    "flags",
                                            "container_ids", "zeros",          "constants",   "ramp",
                                            "random",        "extremes",       "subnormals",  "non_finite",
                                            "imatrix",       "bad_row_length", "determinism", "thread_safety"};
const std::set<std::string> kContainerChecks = {"name",       "description",  "extensions",    "probe",
                                                "round_trip", "missing_file", "truncated_file"};
const std::set<std::string> kTranscoderChecks = {"descriptor", "codecs", "bad_row_length", "exactness", "determinism"};

// Bundled codecs that accept NaN in encode and return QF_CODEC_OK (their IQ entry points pass
// finite_required = false), where the codec contract asks for QF_CODEC_NON_FINITE. The
// conversion pipeline refuses non-finite rows before any block codec sees them, so files are
// unaffected; once the codecs check, plugin-check passes them and this list must go.
fs::path conformance_plugin(const std::string& name) {
  return fs::path(QF_TEST_PLUGIN_DIR) / "conformance" / ("qf_conformance_" + name + ".so");
}

// The report's lines that start with "FAIL".
std::vector<std::string> fail_lines(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("FAIL", 0) == 0) lines.push_back(line);
  return lines;
}

bool has_line(const std::string& out, const std::string& line) {
  return out.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_bundled_plugin_passes_and_lists_the_expected_checks) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(QF_PLUGIN_DIR))
    if (e.path().extension() == ".so") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  BOOST_REQUIRE_GE(files.size(), 36u);
  size_t codecs = 0, containers = 0, transcoders = 0;
  for (const auto& file : files) {
    auto r = cli("plugin-check --json " + quote(file));
    const json report = json::parse(r.out);
    std::map<std::string, std::set<std::string>> checks;  // subject/name -> check ids
    std::vector<std::string> failed;
    for (const auto& c : report["checks"]) {
      const std::string subject =
          c["subject"].get<std::string>() + (c["name"].is_null() ? "" : " " + c["name"].get<std::string>());
      checks[subject].insert(c["check"].get<std::string>());
      if (c["status"] == "failed")
        failed.push_back(subject + ": " + c["check"].get<std::string>() + ": " + c["reason"].get<std::string>());
    }
    BOOST_CHECK_MESSAGE(checks["plugin"] == kPluginChecks, file);
    for (const auto& [subject, ids] : checks) {
      if (subject.rfind("codec ", 0) == 0) {
        ++codecs;
        BOOST_CHECK_MESSAGE(ids == kCodecChecks, subject);
      } else if (subject.rfind("container ", 0) == 0) {
        ++containers;
        BOOST_CHECK_MESSAGE(ids == kContainerChecks, subject);
      } else if (subject.rfind("transcoder ", 0) == 0) {
        ++transcoders;
        BOOST_CHECK_MESSAGE(ids == kTranscoderChecks, subject);
      }
    }
    BOOST_CHECK_MESSAGE(failed.empty(), file.filename() << ": " << r.out);
    BOOST_CHECK_EQUAL(r.exit_code, 0);
    BOOST_CHECK_EQUAL(report["result"], "passed");
  }
  BOOST_CHECK_GE(codecs, 34u);
  BOOST_CHECK_EQUAL(containers, 4u);    // gguf, safetensors, apr, mlx
  BOOST_CHECK_EQUAL(transcoders, 23u);  // mlx_fp_ggml 4, mlx_affine_ggml 13, zero_point_ggml 6
}

BOOST_AUTO_TEST_CASE(the_text_report_has_one_line_per_check) {
  auto r = cli("plugin-check " + quote(fs::path(QF_PLUGIN_DIR) / "quantflow-codec-q4_0.so"));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
  BOOST_CHECK(has_line(r.out, "PASS  plugin: load: loads, exports quantflow_plugin_descriptor, ABI version 6 matches"));
  BOOST_CHECK(has_line(r.out, "PASS  codec q4_0: geometry: 32 element(s) in 18 byte(s), kind quantized"));
  BOOST_CHECK(has_line(r.out, "PASS  codec q4_0: zeros: 4 rows of zeros decode to exactly 0"));
  BOOST_CHECK(has_line(r.out, "PASS  codec q4_0: non_finite: NaN, +inf and -inf are refused with QF_CODEC_NON_FINITE"));
  BOOST_CHECK(has_line(r.out,
                       "PASS  codec q4_0: bad_row_length: encode and decode return QF_CODEC_BAD_ROW_LENGTH for a "
                       "row of 33 elements"));
  BOOST_CHECK(has_line(r.out,
                       "PASS  codec q4_0: thread_safety: 4 threads encoding 2 rows each give the bytes of one "
                       "serial call"));
  BOOST_CHECK(r.out.ends_with("\n18 checks: 18 passed, 0 failed, 0 skipped\n"));
  BOOST_CHECK_EQUAL(r.err, "");
}

// A whole-tensor codec's flag is known and named; no row length is wrong for it.
BOOST_AUTO_TEST_CASE(a_whole_tensor_codec_passes_with_its_flag_named) {
  auto r = cli("plugin-check " + quote(fs::path(QF_PLUGIN_DIR) / "quantflow-codec-apr_q4.so"));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
  BOOST_CHECK(has_line(r.out, "PASS  codec apr_q4: flags: WHOLE_TENSOR"));
  BOOST_CHECK(has_line(r.out, "PASS  codec apr_q4: container_ids: apr=128"));
  BOOST_CHECK(has_line(r.out, "SKIP  codec apr_q4: bad_row_length: whole-tensor codec: every length is valid"));
  BOOST_CHECK(r.out.ends_with("\n18 checks: 17 passed, 0 failed, 1 skipped\n"));
}

BOOST_AUTO_TEST_CASE(a_conforming_third_party_codec_passes) {
  auto r = cli("plugin-check " + quote(conformance_plugin("conforming")));
  BOOST_CHECK_MESSAGE(r.exit_code == 0, r.out);
  BOOST_CHECK(fail_lines(r.out).empty());
  BOOST_CHECK(r.out.ends_with("\n18 checks: 18 passed, 0 failed, 0 skipped\n"));
}

BOOST_AUTO_TEST_CASE(each_broken_plugin_fails_with_the_line_naming_its_defect) {
  struct Case {
    fs::path file;
    std::string line;  // a FAIL line the report must hold, exactly
  };
  const Case cases[] = {
      {conformance_plugin("nonzero_zeros"),
       "FAIL  codec qf_nonzero_zeros: zeros: element 0 of row 0 decodes to 0.00390625, not exactly 0"},
      {conformance_plugin("nondeterministic"),
       "FAIL  codec qf_nondeterministic: determinism: encoding the same rows twice gives different bytes (first "
       "difference at byte 8: 0x01 vs 0x02)"},
      {conformance_plugin("unwritten_byte"),
       "FAIL  codec qf_unwritten_byte: determinism: encode never writes byte 8 of the output (it keeps what the buffer "
       "held), so files differ from run to run"},
      {conformance_plugin("throws"),
       "FAIL  codec qf_throws: zeros: encode threw an exception (encoder exploded); a codec must return a QF_CODEC_* "
       "value instead"},
      {conformance_plugin("bad_geometry"),
       "FAIL  codec qf_bad_geometry: geometry: a plain floating type must have blocks of 1 element, not 4"},
      {conformance_plugin("aborts"), "FAIL  codec qf_aborts: zeros: the plugin crashed with signal 6 (Aborted)"},
      {conformance_plugin("upper_case"),
       "FAIL  codec QF_Upper: name: name 'QF_Upper' has upper-case letters; quantflow matches names lower-case "
       "('qf_upper'), so it could never be selected"},
      {conformance_plugin("probe_out_of_range"),
       "FAIL  container qf_probe_out_of_range: probe: empty input: probe returned 101, outside 0..100"},
      {fs::path(QF_TEST_PLUGIN_DIR) / "qf_test_wrong_abi.so",
       "FAIL  plugin: load: plugin ABI version 43 does not match this quantflow's ABI version 6; rebuild the plugin "
       "against this SDK"},
      {fs::path(QF_TEST_PLUGIN_DIR) / "qf_test_not_a_plugin.so",
       "FAIL  plugin: load: not a quantflow plugin: it does not export 'quantflow_plugin_descriptor'"},
      {fs::path(QF_TEST_PLUGIN_DIR) / "duplicate" / "qf_test_duplicate_q8_0.so",
       "FAIL  codec q8_0: name: codec 'q8_0' is also provided by " +
           (fs::path(QF_PLUGIN_DIR) / "quantflow-codec-q8_0.so").string() +
           " on the plugin search path; quantflow loads only the first plugin in search order that provides a name"},
  };
  for (const auto& c : cases) {
    auto r = cli("plugin-check " + quote(c.file));
    BOOST_CHECK_MESSAGE(r.exit_code == 1, c.file.filename() << ": exit " << r.exit_code);
    BOOST_CHECK_MESSAGE(has_line(r.out, c.line), c.file.filename() << ": no line\n" << c.line << "\nin\n" << r.out);
    BOOST_CHECK_EQUAL(r.err, "");
  }
}

// A race shows at a byte that depends on scheduling, so only the start and end of the line
// are fixed.
BOOST_AUTO_TEST_CASE(a_codec_sharing_scratch_memory_between_threads_fails_thread_safety) {
  auto r = cli("plugin-check " + quote(conformance_plugin("racy")));
  BOOST_CHECK_EQUAL(r.exit_code, 1);
  const auto lines = fail_lines(r.out);
  BOOST_REQUIRE_EQUAL(lines.size(), 1u);
  BOOST_CHECK(
      lines[0].starts_with("FAIL  codec qf_racy: thread_safety: 4 threads encoding 2 rows each give different "
                           "bytes than one serial call (first difference at byte "));
  BOOST_CHECK(lines[0].ends_with("): encode is not safe to call concurrently"));
}

BOOST_AUTO_TEST_CASE(broken_geometry_skips_the_checks_that_would_size_buffers_from_it) {
  auto r = cli("plugin-check " + quote(conformance_plugin("bad_geometry")));
  BOOST_CHECK(has_line(r.out, "SKIP  codec qf_bad_geometry: zeros: not run: the block geometry is not sane"));
  BOOST_CHECK(r.out.ends_with("\n18 checks: 6 passed, 1 failed, 11 skipped\n"));
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2) {
  qf_test::TempDir dir;
  auto none = cli("plugin-check");
  BOOST_CHECK_EQUAL(none.exit_code, 2);
  BOOST_CHECK_EQUAL(none.err, "quantflow: error: missing FILE (see --help)\n");
  auto missing = cli("plugin-check " + quote(dir / "nope.so"));
  BOOST_CHECK_EQUAL(missing.exit_code, 2);
  BOOST_CHECK_EQUAL(missing.err, "quantflow: error: " + (dir / "nope.so").string() + ": no such file\n");
  auto directory = cli("plugin-check " + quote(dir.path));
  BOOST_CHECK_EQUAL(directory.exit_code, 2);
  BOOST_CHECK_NE(directory.err.find("is a directory, not a plugin file"), std::string::npos);
  auto help = cli("plugin-check --help");
  BOOST_CHECK_EQUAL(help.exit_code, 0);
  BOOST_CHECK(help.out.starts_with("usage: quantflow plugin-check PLUGIN.so [--json] [--plugin-dir DIR]..."));
  BOOST_CHECK_NE(help.out.find("Exit status: 0 every check passed"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(json_output_carries_every_check) {
  auto r = cli("plugin-check --json " + quote(conformance_plugin("nonzero_zeros")));
  BOOST_CHECK_EQUAL(r.exit_code, 1);
  const json report = json::parse(r.out);
  BOOST_CHECK_EQUAL(report["result"], "failed");
  BOOST_CHECK_EQUAL(report["plugin"]["name"], "qf-qf_nonzero_zeros");
  BOOST_CHECK_EQUAL(report["summary"]["failed"], 1);
  BOOST_CHECK_EQUAL(report["summary"]["checks"], report["checks"].size());
  const json& zeros = report["checks"][7];
  BOOST_CHECK_EQUAL(zeros["subject"], "codec");
  BOOST_CHECK_EQUAL(zeros["name"], "qf_nonzero_zeros");
  BOOST_CHECK_EQUAL(zeros["check"], "zeros");
  BOOST_CHECK_EQUAL(zeros["status"], "failed");
  BOOST_CHECK_EQUAL(zeros["reason"], "element 0 of row 0 decodes to 0.00390625, not exactly 0");
  auto unloadable = cli("plugin-check --json " + quote(fs::path(QF_TEST_PLUGIN_DIR) / "qf_test_not_a_plugin.so"));
  BOOST_CHECK(json::parse(unloadable.out)["plugin"].is_null());
}

// The isolation every check runs in: a crash, a hang and an escaping exception each become a
// failed outcome of that check; the parent process goes on.
BOOST_AUTO_TEST_CASE(isolated_checks_turn_crashes_hangs_and_exceptions_into_failures) {
  using namespace quantflow::conformance;
  const Outcome passed = run_isolated([] { return pass("fine"); });
  BOOST_CHECK(passed.verdict == Verdict::passed);
  BOOST_CHECK_EQUAL(passed.reason, "fine");
  const Outcome skipped = run_isolated([] { return skip("not here"); });
  BOOST_CHECK(skipped.verdict == Verdict::skipped);
  BOOST_CHECK_EQUAL(skipped.reason, "not here");

  const Outcome threw = run_isolated([]() -> Outcome { throw std::runtime_error("boom"); });
  BOOST_CHECK(threw.verdict == Verdict::failed);
  BOOST_CHECK_EQUAL(threw.reason, "an exception escaped the plugin: boom");

  // Boost.Test catches signals itself; the child restores the default action first.
  const Outcome aborted = run_isolated([]() -> Outcome {
    std::signal(SIGABRT, SIG_DFL);
    std::abort();
  });
  BOOST_CHECK(aborted.verdict == Verdict::failed);
  BOOST_CHECK_EQUAL(aborted.reason, "the plugin crashed with signal 6 (Aborted)");
  BOOST_CHECK(!aborted.timed_out);

  const Outcome hung = run_isolated(
      [] {
        std::this_thread::sleep_for(std::chrono::seconds(30));
        return pass("too late");
      },
      std::chrono::seconds(1));
  BOOST_CHECK(hung.verdict == Verdict::failed);
  BOOST_CHECK(hung.timed_out);
  BOOST_CHECK_EQUAL(hung.reason, "did not finish within 1 s (the plugin hangs or is far too slow)");
}

// docs/cli.md, "plugin-check": min(0.9, 3 x max(1.9 x 2^-b, 2^-(b/2))).
BOOST_AUTO_TEST_CASE(the_accuracy_bound_follows_the_documented_formula) {
  using quantflow::conformance::accuracy_bound;
  BOOST_CHECK_CLOSE(accuracy_bound(32.0), 3.0 / 65536, 1e-9);            // f32
  BOOST_CHECK_CLOSE(accuracy_bound(16.0), 3.0 / 256, 1e-9);              // f16, bf16
  BOOST_CHECK_CLOSE(accuracy_bound(8.5), 3.0 * std::exp2(-4.25), 1e-9);  // q8_0
  BOOST_CHECK_CLOSE(accuracy_bound(4.5), 3.0 * std::exp2(-2.25), 1e-9);  // q4_0
  BOOST_CHECK_EQUAL(accuracy_bound(2.0), 0.9);                           // capped: must beat zeros
  BOOST_CHECK_EQUAL(accuracy_bound(1.0), 0.9);
}
