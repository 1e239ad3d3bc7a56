// A folder for `quantflow batch` tests: synthetic models, a batch file, its output folder, and
// what a test reads back (the manifest, file hashes and modification times, summary lines).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace qf_batch {

namespace fs = std::filesystem;
using nlohmann::json;
using qf_test::quote;

// The models of the small batches: 2 blocks, rows of 256 (K-quants fit), a seed per content.
inline const std::string kSmallShape = "--layers 2 --hidden 256 --ffn 512 --vocab 512";

// SHA-256 by coreutils' sha256sum, independent of quantflow's own hashing.
inline std::string sha256sum(const fs::path& file) {
  auto r = qf_test::run("sha256sum " + quote(file));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return r.out.substr(0, 64);
}

inline int64_t mtime_ns(const fs::path& file) {
  struct stat st {};
  BOOST_REQUIRE_MESSAGE(::stat(file.c_str(), &st) == 0, "cannot stat " << file);
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

inline json read_json(const fs::path& file) {
  std::ifstream in(file);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << file);
  const json parsed = json::parse(in, nullptr, false);
  BOOST_REQUIRE_MESSAGE(!parsed.is_discarded(), file << " is not JSON");
  return parsed;
}

// The manifest's entry of task `id`; fails the test when there is none.
inline json task_entry(const json& manifest, const std::string& id) {
  for (const auto& t : manifest.at("tasks"))
    if (t.value("id", "") == id) return t;
  BOOST_FAIL("the manifest has no task " << id);
  return {};
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The last line of stdout that starts with "batch: " (the summary).
inline std::string summary_line(const std::string& out) {
  std::string found;
  for (const auto& line : lines_of(out))
    if (line.starts_with("batch: ")) found = line;
  return found;
}

inline std::string summary(size_t ran, size_t done, size_t failed, size_t up_to_date) {
  return "batch: " + std::to_string(ran) + " ran, " + std::to_string(done) + " done, " + std::to_string(failed) +
         " failed, " + std::to_string(up_to_date) + " up to date";
}

// The state a `--dry-run` line gives task `id` (the text after its output path), or "".
inline std::string dry_run_state(const std::string& out, const std::string& id, const fs::path& output) {
  const std::string prefix = id + "  -> " + output.string() + "  ";
  for (const auto& line : lines_of(out))
    if (line.starts_with(prefix)) return line.substr(prefix.size());
  return "";
}

struct Farm {
  qf_test::TempDir tmp;
  fs::path file = tmp / "batch.yaml";
  fs::path out = tmp / "out";

  fs::path synth(const std::string& name, int seed, const std::string& shape = kSmallShape) const {
    return qf_test::synth_model(tmp / name, shape + " --seed " + std::to_string(seed));
  }
  void write(const std::string& yaml) const { qf_test::write_text(file, yaml); }
  qf_test::CommandResult batch(const std::string& args = "") const {
    return qf_test::cli("batch " + quote(file) + " " + args);
  }
  json manifest(const std::string& name = "farm") const { return read_json(out / (name + ".manifest.json")); }
  // Every output's modification time (-1: missing), to tell which a run rewrote.
  std::map<std::string, int64_t> mtimes(const std::vector<std::string>& names) const {
    std::map<std::string, int64_t> times;
    for (const auto& n : names) times[n] = fs::exists(out / n) ? mtime_ns(out / n) : -1;
    return times;
  }
};

// The names of the outputs whose modification time differs between two snapshots.
inline std::vector<std::string> rewritten(const std::map<std::string, int64_t>& before,
                                          const std::map<std::string, int64_t>& after) {
  std::vector<std::string> names;
  for (const auto& [name, time] : before)
    if (after.at(name) != time) names.push_back(name);
  return names;
}

}  // namespace qf_batch
