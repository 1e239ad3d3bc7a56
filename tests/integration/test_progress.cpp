// --progress on every command that reads a whole model: the exact shape of each mode's output
// (a bar of carriage-return updates, one line per tensor, JSON events that match the schema),
// the default (a bar on a terminal, nothing elsewhere) and what an error leaves.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "support/json_schema.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using qf_test::cli;
using qf_test::quote;

namespace {

const json& schema() {
  static const json loaded = [] {
    std::ifstream in(qf_test::repo_dir() / "docs" / "json.schema.json");
    return json::parse(in);
  }();
  return loaded;
}

std::string violation(const std::string& definition, const json& value) {
  return qf_test::check_schema(schema()["definitions"][definition], value, schema(), definition);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<json> events_of(const std::string& text) {
  std::vector<json> out;
  for (const auto& line : lines_of(text)) out.push_back(json::parse(line));
  return out;
}

// 12 tensors: token_embd, 9 per block, output_norm, output.
struct Fixture {
  qf_test::TempDir dir;
  fs::path model = qf_test::synth_model(dir / "m.gguf", "--layers 1 --hidden 256 --ffn 512 --vocab 256");
  fs::path out = dir / "o.gguf";
};

struct TensorRow {
  std::string name, dtype;
  uint64_t bytes = 0;
};

uint64_t tensor_bytes(const std::vector<TensorRow>& rows) {
  uint64_t total = 0;
  for (const auto& row : rows) total += row.bytes;
  return total;
}

std::vector<TensorRow> tensors_of(const fs::path& file) {
  auto r = cli("inspect --json " + quote(file));
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  std::vector<TensorRow> rows;
  const json inspected = json::parse(r.out);
  for (const auto& t : inspected["tensors"]) rows.push_back({t["name"], t["dtype"], t["bytes"]});
  return rows;
}

// Each line without its trailing elapsed time ("  0.01s"), which must be there.
std::vector<std::string> without_times(const std::string& text) {
  static const std::regex elapsed("  [0-9]+\\.[0-9]{2}s$");
  std::vector<std::string> out;
  for (const auto& line : lines_of(text)) {
    BOOST_CHECK_MESSAGE(std::regex_search(line, elapsed), "no elapsed time in: " << line);
    out.push_back(std::regex_replace(line, elapsed, ""));
  }
  return out;
}

// A whole event stream: every line an event of the schema, `start` first, `done` last, and
// one `tensor` event per tensor in between, counting up to the start's totals.
json check_stream(const std::string& out, size_t tensors) {
  const auto events = events_of(out);
  BOOST_REQUIRE_EQUAL(events.size(), tensors + 2);
  for (const auto& event : events) BOOST_CHECK_MESSAGE(violation("event", event).empty(), violation("event", event));
  const json& start = events.front();
  BOOST_CHECK_EQUAL(start["event"], "start");
  BOOST_CHECK_EQUAL(start["tensors"], tensors);
  for (size_t i = 0; i < tensors; ++i) {
    const json& t = events[i + 1];
    BOOST_CHECK_EQUAL(t["event"], "tensor");
    BOOST_CHECK_EQUAL(t["index"], i);
    BOOST_CHECK_EQUAL(t["total"], tensors);
    BOOST_CHECK_EQUAL(t["input_bytes_total"], start["input_bytes"]);
    BOOST_CHECK_EQUAL(t["bytes_total"], start["bytes"]);
  }
  BOOST_CHECK_EQUAL(events[tensors]["input_bytes_done"], start["input_bytes"]);
  BOOST_CHECK_EQUAL(events[tensors]["bytes_done"], start["bytes"]);
  const json& done = events.back();
  BOOST_CHECK_EQUAL(done["event"], "done");
  BOOST_CHECK_EQUAL(done["tensors"], tensors);
  return events;
}

// Runs the CLI with stderr on a pseudo-terminal; returns what the terminal received.
std::string run_on_terminal(const std::string& args, int& exit_code) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  BOOST_REQUIRE(master >= 0 && ::grantpt(master) == 0 && ::unlockpt(master) == 0);
  const std::string terminal = ::ptsname(master);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int slave = ::open(terminal.c_str(), O_RDWR | O_NOCTTY);
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(slave, 2);
    ::execl("/bin/sh", "sh", "-c", (std::string("'") + QF_CLI + "' " + args).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string received;
  char buffer[4096];
  for (ssize_t n; (n = ::read(master, buffer, sizeof buffer)) > 0;) received.append(buffer, static_cast<size_t>(n));
  ::close(master);  // read fails with EIO once the child's side is closed
  int status = 0;
  ::waitpid(pid, &status, 0);
  exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return received;
}

}  // namespace

BOOST_AUTO_TEST_CASE(lines_give_one_line_per_tensor_with_names_types_and_bytes) {
  Fixture f;
  auto r = cli("convert --type q8_0 --progress lines " + quote(f.model) + " " + quote(f.out));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_CHECK_EQUAL(r.out.rfind("wrote " + f.out.string() + ": 12 tensors (9 re-encoded)", 0), 0u);
  const auto source = tensors_of(f.model), written = tensors_of(f.out);
  std::vector<std::string> expected;
  for (size_t i = 0; i < written.size(); ++i)
    expected.push_back("[" + std::to_string(i + 1) + "/12] " + written[i].name + "  " + source[i].dtype + " -> " +
                       written[i].dtype + "  " + std::to_string(source[i].bytes) + " -> " +
                       std::to_string(written[i].bytes) + " bytes");
  BOOST_CHECK_EQUAL(expected[0], "[1/12] token_embd.weight  f32 -> q8_0  262144 -> 69632 bytes");
  BOOST_CHECK_EQUAL(expected[1], "[2/12] blk.0.attn_norm.weight  f32 -> f32  1024 -> 1024 bytes");
  const auto got = without_times(r.err);
  BOOST_CHECK_EQUAL_COLLECTIONS(got.begin(), got.end(), expected.begin(), expected.end());

  // -q silences the summary, not a mode asked for; quantize and verify log the same way.
  auto quiet = cli("quantize -q --progress lines " + quote(f.model) + " " + quote(f.dir / "q4.gguf") + " Q4_K_M");
  BOOST_REQUIRE_MESSAGE(quiet.exit_code == 0, quiet.err);
  BOOST_CHECK_EQUAL(quiet.out, "");
  BOOST_CHECK_EQUAL(lines_of(quiet.err).size(), 12u);
  // In the output's order, which is llama-quantize's.
  BOOST_CHECK_EQUAL(without_times(quiet.err)[0], "[1/12] output.weight  f32 -> q6_k  262144 -> 53760 bytes");
  BOOST_CHECK_EQUAL(without_times(quiet.err)[2], "[3/12] token_embd.weight  f32 -> q4_k  262144 -> 36864 bytes");
  auto verify = cli("verify --progress lines " + quote(f.out) + " --against " + quote(f.model));
  BOOST_REQUIRE_MESSAGE(verify.exit_code == 0, verify.err);
  const auto verified = without_times(verify.err);
  BOOST_REQUIRE_EQUAL(verified.size(), 12u);
  BOOST_CHECK_EQUAL(verified[0], "[1/12] token_embd.weight  q8_0  331776 bytes read");  // both files' bytes
  BOOST_CHECK_EQUAL(verified[11], "[12/12] output.weight  q8_0  331776 bytes read");
}

BOOST_AUTO_TEST_CASE(json_events_on_every_command_match_the_schema) {
  Fixture f;
  const fs::path q8 = f.dir / "q8.gguf";
  auto convert = cli("convert --type q8_0 --progress json " + quote(f.model) + " " + quote(q8));
  BOOST_REQUIRE_MESSAGE(convert.exit_code == 0, convert.err);
  BOOST_CHECK_EQUAL(convert.err, "");
  auto events = check_stream(convert.out, 12);
  BOOST_CHECK_EQUAL(events.front().dump(), json({{"event", "start"},
                                                 {"inputs", {f.model.string()}},
                                                 {"files", {q8.string()}},
                                                 {"tensors", 12},
                                                 {"input_bytes", tensor_bytes(tensors_of(f.model))},
                                                 {"bytes", tensor_bytes(tensors_of(q8))}})
                                               .dump());
  BOOST_CHECK_EQUAL(events[1]["name"], "token_embd.weight");
  BOOST_CHECK_EQUAL(events[1]["source_type"], "f32");
  BOOST_CHECK_EQUAL(events[1]["type"], "q8_0");
  BOOST_CHECK_EQUAL(events[1]["input_bytes"], 262144);
  BOOST_CHECK_EQUAL(events[1]["bytes"], 69632);
  const json& done = events.back();
  BOOST_CHECK_EQUAL(done["files"], json::array({{{"path", q8.string()}, {"bytes", fs::file_size(q8)}}}));
  BOOST_CHECK_EQUAL(done["bytes"], fs::file_size(q8));
  BOOST_CHECK_EQUAL(done["reencoded"], 9);

  // A split output lists its shards in order, at start and with their sizes when done.
  auto split =
      cli("quantize --progress json --split-max-tensors 5 " + quote(f.model) + " " + quote(f.dir / "s.gguf") + " Q8_0");
  BOOST_REQUIRE_MESSAGE(split.exit_code == 0, split.err);
  events = check_stream(split.out, 12);
  std::vector<std::string> shards;
  for (int i = 1; i <= 3; ++i) shards.push_back((f.dir / ("s-0000" + std::to_string(i) + "-of-00003.gguf")).string());
  BOOST_CHECK_EQUAL(events.front()["files"], json(shards));
  for (size_t i = 0; i < shards.size(); ++i)
    BOOST_CHECK_EQUAL(events.back()["files"][i]["bytes"], fs::file_size(shards[i]));

  // run: --progress json and --json are one stream.
  const std::string recipe = quote(qf_test::repo_dir() / "configs/examples/quantize-with-rules.yaml") +
                             " --set inputs=" + quote(f.model) + " --set output.path=" + quote(f.dir / "r.gguf");
  for (const std::string option : {"--json", "--progress json"}) {
    auto run = cli("run " + option + " " + recipe);
    BOOST_REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    BOOST_CHECK(check_stream(run.out, 12).back().contains("report"));
  }
  auto synth =
      cli("synth --progress json " + quote(f.dir / "s2.gguf") + " --layers 1 --hidden 64 --ffn 128 --vocab 64");
  BOOST_REQUIRE_MESSAGE(synth.exit_code == 0, synth.err);
  BOOST_CHECK_EQUAL(check_stream(synth.out, 12).front()["inputs"], json::array());

  // verify and diff read two files and write none; the result rides on the done event.
  auto verify = cli("verify --progress json " + quote(q8) + " --against " + quote(f.model));
  BOOST_REQUIRE_MESSAGE(verify.exit_code == 0, verify.err);
  events = check_stream(verify.out, 12);
  BOOST_CHECK_EQUAL(events.front()["inputs"], json({q8.string(), f.model.string()}));
  BOOST_CHECK_EQUAL(events.front()["input_bytes"], tensor_bytes(tensors_of(q8)) + tensor_bytes(tensors_of(f.model)));
  BOOST_CHECK_EQUAL(events.front()["files"], json::array());
  BOOST_CHECK_EQUAL(events.back()["verify"]["result"], "passed");
  BOOST_CHECK_EQUAL(violation("verify", events.back()["verify"]), "");
  auto diff = cli("diff --progress json " + quote(f.model) + " " + quote(q8));
  BOOST_CHECK_EQUAL(diff.exit_code, 1);
  events = check_stream(diff.out, 12);
  BOOST_CHECK_EQUAL(events.back()["diff"]["identical"], false);
  BOOST_CHECK_EQUAL(violation("diff", events.back()["diff"]), "");
}

BOOST_AUTO_TEST_CASE(an_error_ends_the_stream_with_an_error_event_and_the_usual_line) {
  Fixture f;
  // Refused before any tensor is read: the stream is the error alone.
  auto missing = cli("convert --progress json " + quote(f.dir / "nope.gguf") + " " + quote(f.out));
  BOOST_CHECK_EQUAL(missing.exit_code, 2);
  BOOST_CHECK_EQUAL(missing.err, "quantflow: error: " + (f.dir / "nope.gguf").string() + ": no such file\n");
  auto events = events_of(missing.out);
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  BOOST_CHECK_EQUAL(violation("event", events[0]), "");
  BOOST_CHECK_EQUAL(events[0].dump(), json({{"event", "error"},
                                            {"code", "usage"},
                                            {"exit_code", 2},
                                            {"message", "no such file"},
                                            {"file", (f.dir / "nope.gguf").string()},
                                            {"tensor", nullptr}})
                                          .dump());
  // Failing at the first tensor: start, then the error naming it.
  auto fails = cli("convert --progress json --plugin-dir " + quote(fs::path(QF_TEST_PLUGIN_DIR) / "faulty") +
                   " --type qf_fail " + quote(f.model) + " " + quote(f.out));
  BOOST_CHECK_EQUAL(fails.exit_code, 1);
  BOOST_CHECK_EQUAL(lines_of(fails.err).size(), 1u);
  events = events_of(fails.out);
  BOOST_REQUIRE_EQUAL(events.size(), 2u);
  BOOST_CHECK_EQUAL(events[0]["event"], "start");
  BOOST_CHECK_EQUAL(violation("event", events[1]), "");
  BOOST_CHECK_EQUAL(events[1]["event"], "error");
  BOOST_CHECK_EQUAL(events[1]["tensor"], "token_embd.weight");
  BOOST_CHECK_EQUAL(events[1]["file"], f.model.string());
  BOOST_CHECK(!fs::exists(f.out));

  // Bad modes and contradictions are usage errors.
  auto bad = cli("convert --progress fancy " + quote(f.model) + " " + quote(f.out));
  BOOST_CHECK_EQUAL(bad.exit_code, 2);
  BOOST_CHECK_EQUAL(bad.err, "quantflow: error: --progress must be bar, lines, json or none, not 'fancy'\n");
  auto both = cli("run --json --progress lines " + quote(f.dir / "any.yaml"));
  BOOST_CHECK_EQUAL(both.exit_code, 2);
  BOOST_CHECK_EQUAL(both.err,
                    "quantflow: error: --json prints JSON progress events; it cannot be combined with --progress "
                    "lines\n");
}

BOOST_AUTO_TEST_CASE(a_forced_bar_redraws_in_place_and_ends_with_a_newline) {
  Fixture f;
  auto r = cli("convert --type q8_0 --progress bar " + quote(f.model) + " " + quote(f.out));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  // The first and the last tensor are always drawn; every update returns to the line's start.
  static const std::regex bar(
      "(\r\033\\[K\\[[0-9]+/12\\] +[0-9]+%  [0-9.]+ [KM]iB / 2\\.75 MiB read  [0-9.]+ ([KMG]iB|bytes)/s  ETA "
      "[0-9]+s)+\n");
  BOOST_CHECK_MESSAGE(std::regex_match(r.err, bar), r.err);
  BOOST_CHECK_EQUAL(r.err.rfind("\r\033[K[1/12]", 0), 0u);
  BOOST_CHECK_NE(r.err.find("\r\033[K[12/12] 100%  2.75 MiB / 2.75 MiB read  "), std::string::npos);
  BOOST_CHECK_EQUAL(r.out.rfind("wrote ", 0), 0u);  // stdout as without a bar

  // A failure ends the bar's line before the error line.
  auto fails = cli("convert --progress bar --plugin-dir " + quote(fs::path(QF_TEST_PLUGIN_DIR) / "faulty") +
                   " --type qf_fail " + quote(f.model) + " " + quote(f.out));
  BOOST_CHECK_EQUAL(fails.exit_code, 1);
  const auto error_at = fails.err.find("quantflow: error: ");
  BOOST_REQUIRE(error_at != std::string::npos);
  BOOST_CHECK(error_at == 0 || fails.err[error_at - 1] == '\n');
}

BOOST_AUTO_TEST_CASE(the_default_is_a_bar_on_a_terminal_and_silence_elsewhere) {
  Fixture f;
  const std::string convert = "convert --type q8_0 " + quote(f.model) + " " + quote(f.out);
  auto piped = cli(convert);
  BOOST_REQUIRE_EQUAL(piped.exit_code, 0);
  BOOST_CHECK_EQUAL(piped.err, "");
  auto verified = cli("verify " + quote(f.out));
  BOOST_CHECK_EQUAL(verified.exit_code, 0);
  BOOST_CHECK_EQUAL(verified.err, "");

  int exit_code = -1;
  const std::string terminal = run_on_terminal(convert, exit_code);
  BOOST_CHECK_EQUAL(exit_code, 0);
  BOOST_CHECK_EQUAL(terminal.rfind("\r\033[K[1/12]", 0), 0u);
  BOOST_CHECK_NE(terminal.find("\r\033[K[12/12] 100%"), std::string::npos);
  BOOST_CHECK_EQUAL(run_on_terminal("convert -q --type q8_0 " + quote(f.model) + " " + quote(f.out), exit_code), "");
}
