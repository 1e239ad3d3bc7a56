// Every command the user documentation shows runs as written: each `sh` block of README.md
// and docs/*.md, line by line in order, in a folder of its own holding a small model and a
// copy of configs/; and the README's first command, the quick start, exits 0.
#include <fstream>
#include <regex>
#include <sstream>

#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;

namespace {

struct DocCommand {
  size_t line = 0;
  std::string text;
};

// The lines of a document's ```sh / ```bash blocks, without comments.
std::vector<DocCommand> shell_lines(const fs::path& doc) {
  std::ifstream in(doc);
  std::vector<DocCommand> out;
  std::string line;
  bool in_block = false;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.rfind("```", 0) == 0) {
      in_block = !in_block && (line == "```sh" || line == "```bash");
      continue;
    }
    if (!in_block) continue;
    const std::string command = std::regex_replace(line, std::regex(R"(\s+#\s.*$|^\s+|\s+$)"), "");
    if (!command.empty() && command[0] != '#') out.push_back({n, command});
  }
  return out;
}

// The README's own scripts are checked by name below (the test suite cannot run itself).
bool is_project_script(const std::string& command) { return command.rfind("bash scripts/", 0) == 0; }

// model.gguf (and the files README's examples start from) beside a copy of configs/.
void prepare(const qf_test::TempDir& dir) {
  auto r = cli("synth " + quote(dir / "model.gguf") + " --layers 2 --hidden 256 --ffn 512 --vocab 512");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_REQUIRE_EQUAL(
      cli("convert -q --type q4_k " + quote(dir / "model.gguf") + " " + quote(dir / "model-q4_k.gguf")).exit_code, 0);
  fs::copy(qf_test::repo_dir() / "configs", dir / "configs", fs::copy_options::recursive);
}

void run_document(const fs::path& doc) {
  const auto commands = shell_lines(doc);
  size_t ran = 0;
  qf_test::TempDir dir;
  prepare(dir);
  const std::string path = fs::path(QF_CLI).parent_path().string() + ":" + std::getenv("PATH");
  for (const auto& c : commands) {
    if (is_project_script(c.text)) continue;
    auto r = qf_test::run("cd " + quote(dir.path) + " && PATH=" + quote(path) + " sh -c " + quote(c.text));
    BOOST_CHECK_MESSAGE(r.exit_code == 0, doc.filename().string() << ":" << c.line << ": `" << c.text << "` exited "
                                                                  << r.exit_code << ": " << r.err);
    BOOST_CHECK_MESSAGE(r.err.find("error") == std::string::npos, doc.filename().string()
                                                                      << ":" << c.line << ": " << r.err);
    ++ran;
  }
  BOOST_TEST_MESSAGE(doc.filename().string() << ": ran " << ran << " documented commands");
}

}  // namespace

BOOST_AUTO_TEST_CASE(readme_commands_run_as_written) {
  const auto commands = shell_lines(qf_test::repo_dir() / "README.md");
  BOOST_REQUIRE_GE(commands.size(), 10u);  // the usage block is found at all
  std::vector<std::string> scripts;
  for (const auto& c : commands)
    if (is_project_script(c.text)) scripts.push_back(c.text);
  BOOST_CHECK(scripts == (std::vector<std::string>{"bash scripts/quickstart.sh", "bash scripts/test.sh"}));
  run_document(qf_test::repo_dir() / "README.md");
}

BOOST_AUTO_TEST_CASE(every_documented_command_runs_as_written) {
  size_t documents = 0;
  for (const auto& entry : fs::directory_iterator(qf_test::repo_dir() / "docs")) {
    if (entry.path().extension() != ".md" || shell_lines(entry.path()).empty()) continue;
    run_document(entry.path());
    ++documents;
  }
  BOOST_CHECK_GE(documents, 1u);  // docs/cli.md at least
  BOOST_CHECK_GE(shell_lines(qf_test::repo_dir() / "docs" / "cli.md").size(), 15u);
}

// The quick start on a machine that has its packages: exit 0 and the files it promises. It
// used to exit 141 (a pipe into head under pipefail).
BOOST_AUTO_TEST_CASE(quickstart_exits_zero) {
  qf_test::TempDir out;
  auto r = qf_test::run("QUANTFLOW_QUICKSTART_OUT=" + quote(out.path) + " bash " +
                        quote(qf_test::repo_dir() / "scripts" / "quickstart.sh"));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "exit " << r.exit_code << ": " << r.err);
  for (const char* file : {"demo-f32.gguf", "demo-q8_0.gguf", "demo-q8_0.safetensors", "demo-q4_k_m.gguf", "README.md"})
    BOOST_CHECK_MESSAGE(fs::exists(out / file), file);
  BOOST_CHECK_NE(r.out.find(" passed, 0 failed"), std::string::npos);
  // A second run (the files now exist) succeeds too.
  BOOST_CHECK_EQUAL(qf_test::run("QUANTFLOW_QUICKSTART_OUT=" + quote(out.path) + " bash " +
                                 quote(qf_test::repo_dir() / "scripts" / "quickstart.sh"))
                        .exit_code,
                    0);
}
