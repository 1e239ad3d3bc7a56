// Faults during a conversion: kill -9, a truncated input, a full disk, a vanished or
// read-only output folder. Each ends with the exit code, one error line, an untouched input
// and no leftover files.
#include <sys/mount.h>
#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <string_view>

#include "support/child_process.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using qf_test::cli;
using qf_test::listing;
using qf_test::quote;

namespace {

using Names = std::vector<std::string>;

size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

uint64_t hash_file(const fs::path& p) {
  const auto bytes = qf_test::read_bytes(p);
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// An input of ~200 MiB F32 in `dir`/in and an empty `dir`/out: a q8_0 conversion with one
// thread takes a second or more and writes ~55 MiB, so there is time to act mid-write.
struct BigConversion {
  fs::path in, out, model, target;
  uint64_t input_hash = 0;
  explicit BigConversion(const qf_test::TempDir& tmp,
                         const std::string& shape = "--layers 8 --hidden 1024 --ffn 4096 --vocab 8192") {
    in = tmp / "in";
    out = tmp / "out";
    fs::create_directories(in);
    fs::create_directories(out);
    model = in / "big.gguf";
    target = out / "big-q8_0.gguf";
    auto r = cli("synth " + quote(model) + " " + shape);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    input_hash = hash_file(model);
  }
  std::vector<std::string> convert_args(const fs::path& to) const {
    return {"convert", "-q", "--threads", "1", "--type", "q8_0", model.string(), to.string()};
  }
};

// Mounts a tmpfs on `dir` with `options`; false when this process may not mount.
bool mount_tmpfs(const fs::path& dir, const std::string& options) {
  return ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
}

struct Unmount {
  fs::path dir;
  ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(kill_9_mid_write_leaves_the_target_absent_or_complete_and_nothing_else) {
  qf_test::TempDir tmp;
  BigConversion big(tmp);
  const fs::path reference = big.in / "reference.gguf";
  auto r = qf_test::spawn_cli(big.convert_args(reference), tmp / "ref.err");
  BOOST_REQUIRE_EQUAL(r.wait(), 0);
  const auto expected = qf_test::read_bytes(reference);
  const uint64_t final_size = expected.size();

  const unsigned seed = std::random_device{}();
  BOOST_TEST_MESSAGE("kill points seeded with " << seed);
  std::mt19937 rng(seed);
  // Up to 85% of the final size: the last buffer (4 MiB) is flushed, fsynced and renamed
  // within milliseconds, too fast to be caught reliably between polls.
  std::uniform_int_distribution<uint64_t> point(1, final_size / 100 * 85);
  constexpr int kKills = 24;
  int mid_write = 0, complete = 0;
  for (int i = 0; i < kKills; ++i) {
    BOOST_TEST_CONTEXT("kill " << i) {
      auto child = qf_test::spawn_cli(big.convert_args(big.target), tmp / "kill.err");
      // Killed only once the open output holds at least a random number of bytes, fewer
      // than the finished file: proof that the kill lands while the file is being written.
      const auto seen = qf_test::wait_for_write_in_progress(child.pid, big.out, point(rng));
      ::kill(child.pid, SIGKILL);
      BOOST_CHECK_EQUAL(child.wait(), 128 + SIGKILL);
      if (seen && *seen < final_size) ++mid_write;
      const Names left = listing(big.out);
      if (left.empty()) continue;
      // Only possible when the kill came after the rename: then the file is whole.
      BOOST_CHECK(left == Names{big.target.filename().string()});
      BOOST_CHECK_MESSAGE(qf_test::read_bytes(big.target) == expected, "a partial target after kill " << i);
      ++complete;
      fs::remove(big.target);
    }
  }
  BOOST_TEST_MESSAGE(kKills << " kills: " << mid_write << " proven mid-write, " << complete << " after the rename");
  BOOST_CHECK_GE(mid_write, 20);
  BOOST_CHECK_EQUAL(hash_file(big.model), big.input_hash);
  BOOST_CHECK(listing(big.in) == (Names{"big.gguf", "reference.gguf"}));
  BOOST_CHECK(listing(big.out).empty());
}

// The fallback leaves pid-named temporaries after kill -9; the next run into the folder
// removes those whose process is gone and nothing else.
BOOST_AUTO_TEST_CASE(a_run_removes_stale_temporaries_of_dead_processes_only) {
  qf_test::TempDir tmp;
  const auto model = tmp / "m.gguf";
  BOOST_REQUIRE_EQUAL(cli("synth " + quote(model) + " --layers 1 --hidden 64 --ffn 128 --vocab 64").exit_code, 0);
  const fs::path out = tmp / "out";
  fs::create_directories(out);
  // A pid no process can have: the kernel hands out pids below pid_max. (The pid of a child
  // that just exited may already belong to another process when tests fork hundreds in parallel.)
  pid_t dead = 0;
  std::ifstream("/proc/sys/kernel/pid_max") >> dead;
  BOOST_REQUIRE_GT(dead, 0);
  const pid_t live = ::getpid();
  const std::string stale = ".m-q8.gguf.quantflow-tmp-" + std::to_string(dead) + "-0badf00d";
  const std::string other_stale = ".older.gguf.quantflow-tmp-" + std::to_string(dead) + "-00000001";
  const std::string alive = ".m-q8.gguf.quantflow-tmp-" + std::to_string(live) + "-0badf00d";
  const std::string lookalike = ".m-q8.gguf.quantflow-tmp-" + std::to_string(dead) + "-xyz";
  for (const auto& name : {stale, other_stale, alive, lookalike, std::string("notes.txt")})
    qf_test::write_text(out / name, "x");
  auto r = cli("convert -q --type q8_0 " + quote(model) + " " + quote(out / "m-q8.gguf"));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  Names kept{alive, lookalike, "m-q8.gguf", "notes.txt"};
  std::sort(kept.begin(), kept.end());  // listing() sorts by name; the pids decide the order
  BOOST_CHECK(listing(out) == kept);
}

BOOST_AUTO_TEST_CASE(input_truncated_mid_read_is_a_one_line_error_naming_file_and_tensor) {
  qf_test::TempDir tmp;
  BigConversion big(tmp);
  const uint64_t input_size = fs::file_size(big.model);
  auto child = qf_test::spawn_cli(big.convert_args(big.target), tmp / "err");
  // Output bytes on disk mean tensors have been read; at 1 MiB of ~55 MiB the reader is
  // early in the file, so cutting it in half strikes tensors not read yet.
  BOOST_REQUIRE(qf_test::wait_for_write_in_progress(child.pid, big.out, 1));
  fs::resize_file(big.model, input_size / 2);
  BOOST_CHECK_EQUAL(child.wait(), 1);
  const std::string err = child.err();
  BOOST_CHECK_EQUAL(count_lines(err), 1u);
  const std::string prefix = "quantflow: error: " + big.model.string() + ": tensor 'blk.";
  BOOST_CHECK_MESSAGE(err.rfind(prefix, 0) == 0, err);
  BOOST_CHECK_MESSAGE(err.find("': the file shrank while being read: it now has " + std::to_string(input_size / 2) +
                               " bytes, this data ends at byte ") != std::string::npos,
                      err);
  BOOST_CHECK(listing(big.out).empty());
}

// RLIMIT_FSIZE makes writes past the limit fail with EFBIG (the CLI ignores SIGXFSZ, whose
// default would kill it silently). Every writing command reports it and exits 1.
BOOST_AUTO_TEST_CASE(file_size_limit_is_reported_by_every_writing_command) {
  qf_test::TempDir tmp;
  BigConversion big(tmp, "--layers 2 --hidden 512 --ffn 1024 --vocab 1024");
  const auto limit = [] {
    const rlimit lim{2u << 20, 2u << 20};
    ::setrlimit(RLIMIT_FSIZE, &lim);
  };
  const std::vector<std::vector<std::string>> commands{
      big.convert_args(big.target),
      {"quantize", big.model.string(), big.target.string(), "Q8_0"},
      {"run", "-q", (qf_test::repo_dir() / "configs/examples/quantize-with-rules.yaml").string(), "--set",
       "inputs=" + big.model.string(), "--set", "output.path=" + big.target.string()}};
  for (const auto& args : commands) {
    BOOST_TEST_CONTEXT(args[0]) {
      auto child = qf_test::spawn_cli(args, tmp / "err", limit);
      BOOST_CHECK_EQUAL(child.wait(), 1);
      const std::string err = child.err();
      BOOST_CHECK_EQUAL(count_lines(err), 1u);
      BOOST_CHECK_MESSAGE(err.rfind("quantflow: error: " + big.target.string() + ": ", 0) == 0, err);
      BOOST_CHECK_MESSAGE(err.find("write failed: File too large\n") != std::string::npos, err);
      BOOST_CHECK(listing(big.out).empty());
    }
  }
  BOOST_CHECK_EQUAL(hash_file(big.model), big.input_hash);
}

// A real full disk: a 4 MiB tmpfs as the output folder (needs the right to mount).
BOOST_AUTO_TEST_CASE(a_full_disk_is_reported_and_leaves_nothing) {
  qf_test::TempDir tmp;
  BigConversion big(tmp, "--layers 2 --hidden 512 --ffn 1024 --vocab 1024");
  if (!mount_tmpfs(big.out, "size=4m")) {
    BOOST_TEST_MESSAGE("skipped: cannot mount a tmpfs here (" << std::strerror(errno) << ")");
    return;
  }
  Unmount unmount{big.out};
  auto child = qf_test::spawn_cli(big.convert_args(big.target), tmp / "err");
  BOOST_CHECK_EQUAL(child.wait(), 1);
  const std::string err = child.err();
  BOOST_CHECK_EQUAL(count_lines(err), 1u);
  BOOST_CHECK_MESSAGE(err.rfind("quantflow: error: " + big.target.string() + ": ", 0) == 0, err);
  BOOST_CHECK_MESSAGE(err.find("write failed: No space left on device\n") != std::string::npos, err);
  BOOST_CHECK(listing(big.out).empty());
  BOOST_CHECK_EQUAL(hash_file(big.model), big.input_hash);
}

BOOST_AUTO_TEST_CASE(output_folder_removed_mid_run_is_an_io_error) {
  qf_test::TempDir tmp;
  BigConversion big(tmp);
  auto child = qf_test::spawn_cli(big.convert_args(big.target), tmp / "err");
  BOOST_REQUIRE(qf_test::wait_for_write_in_progress(child.pid, big.out, 1));
  fs::remove_all(big.out);
  BOOST_CHECK_EQUAL(child.wait(), 1);
  const std::string err = child.err();
  BOOST_CHECK_EQUAL(err, "quantflow: error: " + big.target.string() +
                             ": cannot link the finished file into the output directory: No such file or directory\n");
  BOOST_CHECK(!fs::exists(big.out));
  BOOST_CHECK(listing(tmp.path) == (Names{"err", "in"}));
  BOOST_CHECK_EQUAL(hash_file(big.model), big.input_hash);
}

// As root, permission bits do not stop writes; a read-only mount does.
BOOST_AUTO_TEST_CASE(read_only_output_folder_is_an_io_error) {
  qf_test::TempDir tmp;
  BigConversion big(tmp, "--layers 1 --hidden 64 --ffn 128 --vocab 64");
  if (!mount_tmpfs(big.out, "ro,size=1m")) {
    BOOST_TEST_MESSAGE("skipped: cannot mount a read-only tmpfs here (" << std::strerror(errno) << ")");
    return;
  }
  Unmount unmount{big.out};
  auto r = cli("convert -q --type q8_0 " + quote(big.model) + " " + quote(big.target));
  BOOST_CHECK_EQUAL(r.exit_code, 1);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + big.target.string() +
                               ": cannot create a temporary file beside the output: Read-only file system\n");
  BOOST_CHECK(listing(big.out).empty());
}

// Run as an unprivileged user (setuid in the child when we are root), a 0555 folder is
// unwritable.
BOOST_AUTO_TEST_CASE(unwritable_output_folder_is_an_io_error) {
  qf_test::TempDir tmp;
  BigConversion big(tmp, "--layers 1 --hidden 64 --ffn 128 --vocab 64");
  fs::permissions(big.out, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                               fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(tmp.path, fs::perms::others_exec | fs::perms::others_read, fs::perm_options::add);
  auto child = qf_test::spawn_cli(big.convert_args(big.target), tmp / "err", [] {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(99);
  });
  BOOST_CHECK_EQUAL(child.wait(), 1);
  BOOST_CHECK_EQUAL(child.err(), "quantflow: error: " + big.target.string() +
                                     ": cannot create a temporary file beside the output: Permission denied\n");
  BOOST_CHECK(listing(big.out).empty());
  fs::permissions(big.out, fs::perms::owner_all, fs::perm_options::add);
}

// Renaming over a device as root would replace the device node: refused before any write.
BOOST_AUTO_TEST_CASE(a_device_as_output_is_refused) {
  qf_test::TempDir tmp;
  const auto model = tmp / "m.gguf";
  BOOST_REQUIRE_EQUAL(cli("synth " + quote(model) + " --layers 1 --hidden 64 --ffn 128 --vocab 64").exit_code, 0);
  auto r = cli("convert -q --type q8_0 --to gguf " + quote(model) + " /dev/full");
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: /dev/full: the output exists and is not a regular file\n");
  BOOST_CHECK(fs::is_character_file("/dev/full"));
  for (const auto& e : fs::directory_iterator("/dev"))
    BOOST_CHECK_MESSAGE(e.path().filename().string().find(".quantflow-tmp-") == std::string::npos, e.path());
}
