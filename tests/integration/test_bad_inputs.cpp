// The hostile files and model folders of tests/bad-inputs (made by make.py there) through the
// CLI: each must give the exit code and error text MANIFEST.tsv lists, as one line that names
// the file (or folder), and a failed convert must leave no output behind.
#include <fstream>
#include <sstream>

#include "support/test_support.hpp"

using qf_test::quote;
namespace fs = std::filesystem;

namespace {

const fs::path kDir = qf_test::repo_dir() / "tests" / "bad-inputs";

struct Case {
  std::string file, command, error;
  int exit_code = 0;
};

std::vector<Case> manifest() {
  std::ifstream in(kDir / "MANIFEST.tsv");
  BOOST_REQUIRE_MESSAGE(in, "cannot read " << kDir / "MANIFEST.tsv");
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Case c;
    std::string code;
    std::getline(fields, c.file, '\t');
    std::getline(fields, c.command, '\t');
    std::getline(fields, code, '\t');
    std::getline(fields, c.error);
    c.exit_code = std::stoi(code);
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_bad_input_gives_its_error) {
  const auto cases = manifest();
  BOOST_CHECK_GE(cases.size(), 40u);
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.file << " (" << c.command << ")") {
      const fs::path file = kDir / c.file;
      BOOST_REQUIRE(fs::exists(file));
      qf_test::TempDir tmp;
      // A model folder converts to a safetensors file.
      const bool folder = fs::is_directory(file);
      const fs::path out = tmp / ("out" + (folder ? std::string(".safetensors") : file.extension().string()));
      std::istringstream words(c.command);
      std::string verb, rest, word;
      words >> verb;
      while (words >> word) rest += " " + word;
      const std::string args =
          verb == "convert" ? "convert -q " + quote(file) + " " + quote(out) + rest : verb + " " + quote(file) + rest;
      const auto r = qf_test::cli(args);
      BOOST_CHECK_EQUAL(r.exit_code, c.exit_code);
      if (c.exit_code == 0) {
        BOOST_CHECK_EQUAL(r.err, "");
        if (verb == "convert") BOOST_CHECK(fs::exists(out));
        continue;
      }
      // One line: "quantflow: error: FILE: [tensor 'NAME': ]reason"; for a folder FILE may be
      // the folder or a file in it.
      const std::string prefix = "quantflow: error: " + file.string();
      BOOST_CHECK_MESSAGE(r.err.starts_with(prefix + ": ") || (folder && r.err.starts_with(prefix + "/")), r.err);
      BOOST_CHECK_MESSAGE(r.err.find(c.error) != std::string::npos, r.err);
      BOOST_CHECK_EQUAL(std::count(r.err.begin(), r.err.end(), '\n'), 1);
      BOOST_CHECK(r.err.ends_with("\n"));
      BOOST_CHECK(!fs::exists(out));
    }
  }
}

struct python_available {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result r(qf_test::run("command -v python3").exit_code == 0);
    if (!r) r.message() << "skipped: python3 is not installed";
    return r;
  }
};

// The committed files are what make.py writes: regenerating them must change nothing (model
// folders: the same files with the same bytes).
BOOST_AUTO_TEST_CASE(files_match_the_generator, *boost::unit_test::precondition(python_available())) {
  qf_test::TempDir tmp;
  const auto r = qf_test::run("python3 " + quote(kDir / "make.py") + " " + quote(tmp.path));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(tmp.path)) {
    const fs::path relative = fs::relative(e.path(), tmp.path);
    if (e.is_directory()) {
      BOOST_CHECK_MESSAGE(
          fs::is_directory(kDir / relative) && qf_test::listing(kDir / relative) == qf_test::listing(e.path()),
          relative << " holds other files than make.py writes");
      continue;
    }
    ++files;
    BOOST_CHECK_MESSAGE(qf_test::read_bytes(e.path()) == qf_test::read_bytes(kDir / relative),
                        relative << " differs from what make.py writes");
  }
  BOOST_CHECK_GE(files, 40u);
}
