// Core pieces without plugins: sizes, atomic output, the registry's refusal paths.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/atomic_output.hpp"
#include "core/stale_temporaries.hpp"
#include "core/metadata_format.hpp"
#include "core/units.hpp"
#include "support/test_support.hpp"

using namespace quantflow;

BOOST_AUTO_TEST_CASE(parse_size_accepts_suffixes_and_rejects_junk) {
  BOOST_CHECK_EQUAL(*core::parse_size("512"), 512u);
  BOOST_CHECK_EQUAL(*core::parse_size("4K"), 4096u);
  BOOST_CHECK_EQUAL(*core::parse_size("2G"), 2ull << 30);
  BOOST_CHECK_EQUAL(*core::parse_size("1.5MiB"), 1572864u);
  BOOST_CHECK_EQUAL(*core::parse_size("3mb"), 3u << 20);
  auto bad = core::parse_size("lots");
  BOOST_REQUIRE(!bad.ok());
  BOOST_CHECK_EQUAL(bad.status().message(), "'lots' is not a size; use e.g. 512M or 4G");
  BOOST_CHECK(!core::parse_size("5X").ok());
  BOOST_CHECK_EQUAL(core::format_size(1536), "1.50 KiB");
  BOOST_CHECK_EQUAL(core::format_size(1000), "1000 B");
}

namespace {

size_t entries_in(const qf_test::fs::path& dir) {
  return static_cast<size_t>(std::distance(qf_test::fs::directory_iterator(dir), {}));
}

}  // namespace

BOOST_AUTO_TEST_CASE(atomic_sink_renames_only_on_commit) {
  for (bool allow_anonymous : {true, false}) {
    BOOST_TEST_CONTEXT("allow_anonymous " << allow_anonymous) {
      qf_test::TempDir tmp;
      const auto target = tmp / "out.bin";
      qf_test::write_text(target, "previous content");
      {
        auto sink = core::AtomicFileSink::create(target.string(), {}, allow_anonymous);
        BOOST_REQUIRE(sink.ok());
        // The build tree is on ext4, which has O_TMPFILE: the anonymous path is taken.
        BOOST_CHECK_EQUAL((*sink)->anonymous(), allow_anonymous);
        const std::string payload = "new bytes";
        BOOST_REQUIRE((*sink)->write(std::as_bytes(std::span(payload.data(), payload.size()))).ok());
        if (allow_anonymous) {
          BOOST_CHECK((*sink)->temp_path().empty());
          BOOST_CHECK_EQUAL(entries_in(tmp.path), 1u);  // nothing visible while writing
        } else {
          BOOST_CHECK(qf_test::fs::exists((*sink)->temp_path()));
          BOOST_CHECK_EQUAL(
              (*sink)->temp_path().rfind(
                  (tmp.path / (".out.bin.quantflow-tmp-" + std::to_string(::getpid()) + "-")).string(), 0),
              0u);
        }
        // Abandoned without commit: the target keeps its old bytes and the temp file is gone.
      }
      auto kept = qf_test::read_bytes(target);
      BOOST_CHECK_EQUAL(std::string(kept.begin(), kept.end()), "previous content");
      BOOST_CHECK_EQUAL(entries_in(tmp.path), 1u);

      auto sink = core::AtomicFileSink::create(target.string(), {}, allow_anonymous);
      BOOST_REQUIRE(sink.ok());
      std::vector<std::byte> big(9u << 20, std::byte{0x5a});  // larger than the write buffer
      BOOST_REQUIRE((*sink)->write(big).ok());
      BOOST_REQUIRE((*sink)->write(std::as_bytes(std::span("xy", 2))).ok());
      BOOST_CHECK_EQUAL((*sink)->position(), big.size() + 2);
      BOOST_REQUIRE((*sink)->commit().ok());
      BOOST_CHECK_EQUAL(qf_test::fs::file_size(target), big.size() + 2);
      auto bytes = qf_test::read_bytes(target);
      BOOST_CHECK_EQUAL(std::string(bytes.end() - 3, bytes.end()), "Zxy");
      BOOST_CHECK_EQUAL(entries_in(tmp.path), 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(temporary_names_embed_the_pid_and_nothing_else_matches) {
  BOOST_CHECK_EQUAL(core::temporary_name("m.gguf", 4242, 0xbeef), ".m.gguf.quantflow-tmp-4242-0000beef");
  BOOST_CHECK_EQUAL(core::temporary_owner(".m.gguf.quantflow-tmp-4242-0000beef").value_or(-1), 4242);
  for (const char* other :
       {"m.gguf", ".m.gguf.quantflow-tmp-4242-0000beeg", ".m.gguf.quantflow-tmp-4242-beef",
        ".m.gguf.quantflow-tmp-x42-0000beef", "m.gguf.quantflow-tmp-4242-0000beef",
        ".m.gguf.quantflow-tmp-4242-0000beef.bak", ".quantflow-tmp-4242-0000beef", ".m.gguf.quantflow-tmp-0-0000beef"})
    BOOST_CHECK_MESSAGE(!core::temporary_owner(other), other << " was taken for a temporary");
}

// The named fallback after a real kill -9: the dead writer's file stays until the next
// sink is created in that folder, which removes it; a live process's file is kept.
BOOST_AUTO_TEST_CASE(named_fallback_temporaries_of_dead_writers_are_removed) {
  qf_test::TempDir tmp;
  const auto target = tmp / "out.bin";
  const pid_t child = ::fork();
  if (child == 0) {
    auto sink = core::AtomicFileSink::create(target.string(), {}, false);
    if (!sink.ok()) ::_exit(3);
    std::vector<std::byte> big(5u << 20, std::byte{1});
    if (!(*sink)->write(big).ok()) ::_exit(4);
    ::raise(SIGKILL);
  }
  int status = 0;
  BOOST_REQUIRE_EQUAL(::waitpid(child, &status, 0), child);
  BOOST_REQUIRE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  BOOST_REQUIRE_EQUAL(entries_in(tmp.path), 1u);
  const auto left = qf_test::fs::directory_iterator(tmp.path)->path();
  BOOST_CHECK_EQUAL(core::temporary_owner(left.filename().string()).value_or(-1), child);
  BOOST_CHECK_EQUAL(qf_test::fs::file_size(left), 5u << 20);  // larger than the buffer: written through

  const auto live = tmp / core::temporary_name("out.bin", ::getpid(), 0x1234);
  const auto lookalike = tmp / ".out.bin.quantflow-tmp-notapid";
  const auto dir_with_name = tmp / core::temporary_name("x", child, 7);
  qf_test::write_text(live, "live");
  qf_test::write_text(lookalike, "keep");
  qf_test::fs::create_directory(dir_with_name);
  {
    auto sink = core::AtomicFileSink::create(target.string(), {}, false);
    BOOST_REQUIRE(sink.ok());
    BOOST_CHECK(!qf_test::fs::exists(left));
    BOOST_CHECK(qf_test::fs::exists(live));
    BOOST_CHECK(qf_test::fs::exists(lookalike));
    BOOST_CHECK(qf_test::fs::is_directory(dir_with_name));
  }
  BOOST_CHECK_EQUAL(entries_in(tmp.path), 3u);
}

BOOST_AUTO_TEST_CASE(atomic_sink_refuses_the_input_and_directories) {
  qf_test::TempDir tmp;
  const auto input = tmp / "model.gguf";
  qf_test::write_text(input, "x");
  auto same = core::AtomicFileSink::create(input.string(), {input.string()});
  BOOST_REQUIRE(!same.ok());
  BOOST_CHECK_EQUAL(same.status().to_string(), input.string() + ": the output is the same file as the input " +
                                                   input.string() + "; quantflow never overwrites an input");
  // A hard link is the same file under another name.
  const auto link = tmp / "link.gguf";
  qf_test::fs::create_hard_link(input, link);
  BOOST_CHECK(!core::AtomicFileSink::create(link.string(), {input.string()}).ok());
  auto dir = core::AtomicFileSink::create(tmp.path.string());
  BOOST_REQUIRE(!dir.ok());
  BOOST_CHECK_EQUAL(dir.status().message(), "the output path is a directory");
  auto missing = core::AtomicFileSink::create((tmp / "no/such/dir/x.gguf").string());
  BOOST_REQUIRE(!missing.ok());
  BOOST_CHECK_EQUAL(missing.status().message(), "the output directory does not exist");
}

BOOST_AUTO_TEST_CASE(registry_reports_broken_plugins_with_reasons) {
  qf_test::TempDir tmp;
  qf_test::fs::copy(qf_test::fs::path(QF_TEST_PLUGIN_DIR) / "qf_test_wrong_abi.so", tmp / "wrong_abi.so");
  qf_test::fs::copy(qf_test::fs::path(QF_TEST_PLUGIN_DIR) / "qf_test_not_a_plugin.so", tmp / "not_a_plugin.so");
  qf_test::write_text(tmp / "text.so", std::string(200, '#') + " this is a text file, not an ELF library\n");
  qf_test::write_text(tmp / "README.txt", "ignored: not a .so");
  core::Registry registry;
  registry.load_directory(tmp.path.string());
  BOOST_CHECK(registry.plugins().empty());
  const auto& failures = registry.failures();
  BOOST_REQUIRE_EQUAL(failures.size(), 3u);
  BOOST_CHECK_EQUAL(failures[0].path, (tmp / "not_a_plugin.so").string());
  BOOST_CHECK_EQUAL(failures[0].reason, "not a quantflow plugin: it does not export 'quantflow_plugin_descriptor'");
  BOOST_CHECK_EQUAL(failures[1].path, (tmp / "text.so").string());
  BOOST_CHECK_MESSAGE(failures[1].reason.rfind("not a loadable shared library: ", 0) == 0, failures[1].reason);
  BOOST_CHECK_NE(failures[1].reason.find("invalid ELF header"), std::string::npos);
  BOOST_CHECK_EQUAL(failures[2].path, (tmp / "wrong_abi.so").string());
  BOOST_CHECK_EQUAL(failures[2].reason,
                    "plugin ABI version 43 does not match this quantflow's ABI version 6; rebuild the plugin "
                    "against this SDK");
}

BOOST_AUTO_TEST_CASE(metadata_display_summarizes_long_arrays) {
  std::vector<MetaValue> tokens;
  for (int i = 0; i < 10; ++i) tokens.push_back(MetaValue::make_string("t" + std::to_string(i)));
  const auto arr = MetaValue::make_array(MetaType::string, tokens);
  BOOST_CHECK_EQUAL(core::format_meta_value(arr, 3), "[\"t0\", \"t1\", \"t2\", ... (10 total)]");
  BOOST_CHECK_EQUAL(core::meta_type_label(arr), "array<string>");
  BOOST_CHECK_EQUAL(core::meta_value_to_json(arr, 2).dump(), R"({"count":10,"head":["t0","t1"]})");
  BOOST_CHECK_EQUAL(core::format_meta_value(MetaValue::make_signed(MetaType::i32, -5)), "-5");
  BOOST_CHECK_EQUAL(core::format_meta_value(MetaValue::make_string("a\"b\n")), "\"a\\\"b\\n\"");
}

BOOST_AUTO_TEST_CASE(metadata_set_moves_key_to_the_end_like_ggml) {
  Metadata m;
  m.append("a", MetaValue::make_u32(1));
  m.append("b", MetaValue::make_u32(2));
  m.set("a", MetaValue::make_u32(3));
  BOOST_REQUIRE_EQUAL(m.size(), 2u);
  BOOST_CHECK_EQUAL(m.entries()[0].key, "b");
  BOOST_CHECK_EQUAL(m.entries()[1].key, "a");
  BOOST_CHECK_EQUAL(m.find("a")->integer, 3u);
  m.assign("b", MetaValue::make_u32(9));
  BOOST_CHECK_EQUAL(m.entries()[0].key, "b");
  BOOST_CHECK(m.erase("b"));
  BOOST_CHECK(!m.contains("b"));
}
