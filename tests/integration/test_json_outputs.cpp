// Every JSON output conforms to docs/json.schema.json: typed values (numbers are numbers,
// keys are snake_case), and an "error" event when a --json command fails.
#include <fstream>
#include <sstream>

#include "support/json_schema.hpp"
#include "support/test_support.hpp"

using qf_test::check_schema;
using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const json& schema() {
  static const json loaded = [] {
    std::ifstream in(qf_test::repo_dir() / "docs" / "json.schema.json");
    return json::parse(in);
  }();
  return loaded;
}

// "" when `value` is a valid `definition`, else the first violation.
std::string violation(const std::string& definition, const json& value) {
  return check_schema(schema()["definitions"][definition], value, schema(), definition);
}

std::vector<json> lines_of(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

struct Fixture {
  qf_test::TempDir dir;
  fs::path model = dir / "m.gguf";
  fs::path q8 = dir / "q8.gguf";
  Fixture() {
    BOOST_REQUIRE_EQUAL(cli("synth " + quote(model) + " --layers 1 --hidden 256 --ffn 512 --vocab 256").exit_code, 0);
    BOOST_REQUIRE_EQUAL(cli("convert -q --type q8_0 " + quote(model) + " " + quote(q8)).exit_code, 0);
  }
};

json run_json(const std::string& args, int expected_exit = 0) {
  auto r = cli(args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == expected_exit, args << ": exit " << r.exit_code << " " << r.err);
  return json::parse(r.out);
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_schema_rejects_what_it_should) {
  // The checker and the schema can fail: a string where a number belongs, a key with a space.
  json inspect =
      run_json("inspect --json " + quote(qf_test::repo_dir() / "tests" / "data" / "ggml-golden" / "Q8_0.q"), 2);
  BOOST_CHECK_EQUAL(violation("error", inspect), "");
  json bad = inspect;
  bad["exit_code"] = "2";
  BOOST_CHECK_NE(violation("error", bad), "");
  bad = inspect;
  bad["extra key"] = 1;
  BOOST_CHECK_NE(violation("error", bad), "");
}

BOOST_AUTO_TEST_CASE(inspect_verify_diff_plugins_and_reports_match_the_schema) {
  Fixture f;
  const json inspect = run_json("inspect --json " + quote(f.model));
  BOOST_CHECK_EQUAL(violation("inspect", inspect), "");
  BOOST_CHECK_EQUAL(inspect["properties"]["alignment"], 32);  // a number, no longer "32"
  const fs::path st = f.dir / "m.safetensors";
  BOOST_REQUIRE_EQUAL(cli("convert -q " + quote(f.model) + " " + quote(st)).exit_code, 0);
  const json safetensors = run_json("inspect --json " + quote(st));
  BOOST_CHECK_EQUAL(violation("inspect", safetensors), "");
  for (const auto& [key, value] : safetensors["properties"].items())
    BOOST_CHECK_MESSAGE(key.find(' ') == std::string::npos, key);
  BOOST_CHECK(safetensors["properties"]["header_length"].is_number_integer());

  BOOST_CHECK_EQUAL(violation("verify", run_json("verify --json " + quote(f.q8) + " --against " + quote(f.model))), "");
  BOOST_CHECK_EQUAL(violation("verify", run_json("verify --json " + quote(f.q8))), "");
  BOOST_CHECK_EQUAL(violation("diff", run_json("diff --json --max-error " + quote(f.model) + " " + quote(f.q8), 1)),
                    "");
  BOOST_CHECK_EQUAL(violation("plugins", run_json("plugins --json")), "");
  const fs::path q8_plugin = fs::path(QF_PLUGIN_DIR) / "quantflow-codec-q8_0.so";
  BOOST_CHECK_EQUAL(violation("plugin_check", run_json("plugin-check --json " + quote(q8_plugin))), "");
  const fs::path gguf_plugin = fs::path(QF_PLUGIN_DIR) / "quantflow-container-gguf.so";
  BOOST_CHECK_EQUAL(violation("plugin_check", run_json("plugin-check --json " + quote(gguf_plugin))), "");
  const fs::path not_a_plugin = fs::path(QF_TEST_PLUGIN_DIR) / "qf_test_not_a_plugin.so";
  BOOST_CHECK_EQUAL(violation("plugin_check", run_json("plugin-check --json " + quote(not_a_plugin), 1)), "");
  BOOST_CHECK_EQUAL(violation("report", run_json("convert -q --type q4_0 --report - " + quote(f.model) + " " +
                                                 quote(f.dir / "r.gguf"))),
                    "");
}

BOOST_AUTO_TEST_CASE(run_and_estimate_events_match_the_schema) {
  Fixture f;
  const fs::path recipe = f.dir / "r.yaml";
  qf_test::write_text(recipe,
                      "inputs: m.gguf\noutput:\n  path: o.gguf\ndefault_type: q8_0\n"
                      "tensors:\n  - name: nothing.matches\n    type: f16\n");
  std::set<std::string> seen;
  for (const std::string args : {"run --json ", "run --json --dry-run ", "estimate --json "}) {
    auto r = cli(args + quote(recipe));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    for (const json& event : lines_of(r.out)) {
      BOOST_CHECK_MESSAGE(violation("event", event).empty(), violation("event", event) << " in " << event.dump());
      seen.insert(event["event"].get<std::string>());
    }
  }
  BOOST_CHECK(seen == (std::set<std::string>{"warning", "start", "tensor", "done", "plan", "estimate"}));
}

// `run --json` used to print nothing on failure: programs reading stdout saw no answer.
BOOST_AUTO_TEST_CASE(failing_json_commands_print_an_error_event) {
  Fixture f;
  const fs::path recipe = f.dir / "r.yaml";
  qf_test::write_text(recipe, "inputs: m.gguf\noutput:\n  path: o.gguf\n");
  qf_test::write_text(f.dir / "bad.yaml", "inputs: nope.gguf\noutput:\n  path: o.gguf\n");
  struct Case {
    std::string args;
    int exit_code;
    std::string code;
  };
  const Case cases[] = {
      {"run --json " + quote(f.dir / "bad.yaml"), 2, "usage"},
      {"run --json " + quote(f.dir / "missing.yaml"), 2, "usage"},
      {"estimate --json " + quote(f.dir / "bad.yaml"), 2, "usage"},
      {"inspect --json " + quote(f.dir / "nope.gguf"), 2, "usage"},
      {"verify --json " + quote(f.dir / "nope.gguf"), 2, "usage"},
      {"diff --json " + quote(f.model) + " " + quote(f.dir / "nope.gguf"), 2, "usage"},
      {"run --json --threads -2 " + quote(recipe), 2, "usage"},
      {"plugin-check --json " + quote(f.dir / "nope.so"), 2, "usage"},
  };
  for (const auto& c : cases) {
    auto r = cli(c.args);
    BOOST_CHECK_MESSAGE(r.exit_code == c.exit_code, c.args << ": exit " << r.exit_code);
    const auto events = lines_of(r.out);
    BOOST_REQUIRE_MESSAGE(!events.empty(), c.args << " printed nothing on stdout");
    const json& last = events.back();
    BOOST_CHECK_MESSAGE(violation("error", last).empty(), violation("error", last));
    BOOST_CHECK_EQUAL(last["code"], c.code);
    BOOST_CHECK_EQUAL(last["exit_code"], c.exit_code);
    // The same error as the stderr line.
    BOOST_CHECK_NE(r.err.find(last["message"].get<std::string>()), std::string::npos);
  }
}
