// Every input that once crashed a fuzz target (tests/fuzz/regressions/<target>/) goes
// through the target's entry point again and must be refused with a one-line error; every
// seed (tests/fuzz/corpus/<target>/) is a valid file and must be accepted.
#include <algorithm>

#include "fuzz/targets.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kFuzzDir = QF_FUZZ_DIR;

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename() != "README.md") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

quantflow::Status feed(const qf_fuzz::Target& target, const fs::path& file) {
  const auto bytes = qf_test::read_bytes(file);
  return target.entry(bytes.data(), bytes.size());
}

}  // namespace

BOOST_AUTO_TEST_CASE(regressions_are_refused_cleanly) {
  size_t total = 0;
  for (const auto& target : qf_fuzz::kTargets) {
    for (const auto& file : files_in(kFuzzDir / "regressions" / target.name)) {
      BOOST_TEST_CONTEXT(target.name << ": " << file.filename().string()) {
        const auto status = feed(target, file);
        BOOST_CHECK(!status.ok());
        // Bad input or a usage error (recipes): both exit 2, never an internal error.
        BOOST_CHECK(status.code() == quantflow::ErrorCode::bad_input || status.code() == quantflow::ErrorCode::usage);
        BOOST_CHECK(!status.message().empty());
        BOOST_CHECK_EQUAL(status.to_string().find('\n'), std::string::npos);
        ++total;
      }
    }
  }
  BOOST_TEST_MESSAGE(total << " regression inputs");
  BOOST_CHECK(fs::exists(kFuzzDir / "regressions" / "README.md"));
}

BOOST_AUTO_TEST_CASE(seeds_are_accepted) {
  for (const auto& target : qf_fuzz::kTargets) {
    const auto seeds = files_in(kFuzzDir / "corpus" / target.name);
    BOOST_CHECK_MESSAGE(!seeds.empty(), target.name << " has no seed corpus");
    for (const auto& file : seeds) {
      const auto status = feed(target, file);
      BOOST_CHECK_MESSAGE(status.ok(), target.name << ": " << file.filename().string() << ": " << status.to_string());
    }
  }
}
