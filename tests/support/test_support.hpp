// Shared helpers for the test executables: paths, file I/O, running the CLI.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <map>
#include <string>
#include <vector>

#include "core/registry.hpp"

namespace qf_test {

namespace fs = std::filesystem;

inline fs::path repo_dir() { return QF_REPO_DIR; }
inline fs::path data_dir() { return repo_dir() / "tests" / "data"; }
inline fs::path golden_dir() { return data_dir() / "ggml-golden"; }
// The read-only shared test data lives beside the repo (or where QUANTFLOW_SHARED_DIR says);
// tests skip without it.
inline fs::path shared_dir() {
  const char* dir = std::getenv("QUANTFLOW_SHARED_DIR");
  return dir != nullptr && *dir != '\0' ? fs::path(dir) : repo_dir() / ".." / "shared";
}
inline bool shared_present() { return fs::is_directory(shared_dir() / "testdata"); }
inline fs::path shared_testdata() { return shared_dir() / "testdata"; }

// scripts/test.sh sets QUANTFLOW_REQUIRE_SHARED=1: there a missing ../shared/testdata fails
// every test that needs it instead of skipping them (the byte-identity checks against
// llama.cpp live there, and a suite that skips them proves nothing).
inline bool shared_required() {
  const char* v = std::getenv("QUANTFLOW_REQUIRE_SHARED");
  return v != nullptr && std::string(v) == "1";
}

inline std::string shared_absent_reason() { return "../shared/testdata is absent (" + shared_dir().string() + ")"; }

// Every test module fails at start-up when the shared data is required but absent, before
// any test could be skipped for want of it.
struct RequireSharedData {
  void setup() {
    if (shared_required() && !shared_present())
      throw std::runtime_error("QUANTFLOW_REQUIRE_SHARED=1 but " + shared_absent_reason() +
                               " (set QUANTFLOW_REQUIRE_SHARED=0 to skip the checks that need it)");
  }
};
BOOST_TEST_GLOBAL_FIXTURE(RequireSharedData);

// Boost.Test precondition: the test is reported as skipped, with the reason, when the shared
// data is absent (and not required).
struct shared_data_available {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result r(shared_present());
    if (!r) r.message() << "skipped: " << shared_absent_reason();
    return r;
  }
};

// For a part of a test that needs the shared data: true when present; otherwise the part is
// skipped with a message naming `what`.
inline bool shared_part_available(const std::string& what) {
  if (shared_present()) return true;
  BOOST_TEST_MESSAGE("skipped: " + what + ": " + shared_absent_reason());
  return false;
}

inline std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << p);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// A 64-bit FNV-1a hash, to name file contents in messages.
inline uint64_t fnv1a(const std::vector<uint8_t>& bytes) {
  uint64_t h = 14695981039346656037ull;
  for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return h;
}

inline std::vector<float> read_floats(const fs::path& p) {
  auto bytes = read_bytes(p);
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

inline void write_bytes(const fs::path& p, const void* data, size_t n) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  BOOST_REQUIRE_MESSAGE(out.good(), "cannot write " << p);
}

inline void write_text(const fs::path& p, const std::string& text) { write_bytes(p, text.data(), text.size()); }

// A fresh directory under the build tree, removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::mt19937_64 rng(std::random_device{}());
    path = fs::path(QF_BUILD_DIR) / "test-tmp" / ("t" + std::to_string(::getpid()) + "-" + std::to_string(rng()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& name) const { return path / name; }
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs a shell command line, capturing stdout and stderr separately.
inline CommandResult run(const std::string& command) {
  TempDir tmp;
  const fs::path out = tmp / "stdout", err = tmp / "stderr";
  const std::string full = command + " >" + out.string() + " 2>" + err.string() + " </dev/null";
  const int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// The names in a folder, sorted: what a test expects a folder to hold, exactly.
inline std::vector<std::string> listing(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

inline std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

// Runs the built CLI with the given argument string.
inline CommandResult cli(const std::string& args) { return run(std::string("'") + QF_CLI + "' " + args); }

// Writes a `quantflow synth` model with `shape` (synth's options) to `path`; returns `path`.
inline fs::path synth_model(const fs::path& path, const std::string& shape) {
  auto r = cli("synth " + quote(path) + " " + shape);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return path;
}

// A registry holding the build's plugins.
inline quantflow::core::Registry& plugins() {
  static std::unique_ptr<quantflow::core::Registry> registry = [] {
    auto r = std::make_unique<quantflow::core::Registry>();
    r->load_directory(QF_PLUGIN_DIR);
    return r;
  }();
  return *registry;
}

struct StoredTensor {
  std::string type;
  std::vector<uint8_t> bytes;
  bool operator==(const StoredTensor&) const = default;
};

// name -> (encoding, stored bytes) for every tensor of a file, read through the plugins.
inline std::map<std::string, StoredTensor> tensors_of(const fs::path& path) {
  auto reader = plugins().open_reader(path.string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  std::map<std::string, StoredTensor> out;
  for (size_t i = 0; i < (*reader)->tensors().size(); ++i) {
    const auto& t = (*reader)->tensors()[i];
    auto data = (*reader)->read(i);
    BOOST_REQUIRE(data.ok());
    const auto* p = reinterpret_cast<const uint8_t*>(data->bytes.data());
    out[t.name] = {t.dtype.name, std::vector<uint8_t>(p, p + data->bytes.size())};
  }
  return out;
}

inline quantflow::Metadata metadata_of(const fs::path& path) {
  auto reader = plugins().open_reader(path.string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  return (*reader)->metadata();
}

}  // namespace qf_test
