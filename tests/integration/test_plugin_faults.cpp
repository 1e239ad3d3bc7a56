// Plugins that are malformed, throw, fail at use or duplicate a name: each is refused at
// load with its path and reason, or reported at use naming the plugin file.
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace fs = std::filesystem;
using qf_test::cli;
using qf_test::quote;

namespace {

const fs::path kTestPlugins = QF_TEST_PLUGIN_DIR;
const fs::path kFaulty = kTestPlugins / "faulty" / "qf_test_faulty.so";

std::string faulty_dir() { return " --plugin-dir " + quote(kTestPlugins / "faulty") + " "; }

fs::path small_model(const qf_test::TempDir& tmp) {
  const auto model = tmp / "m.gguf";
  auto r = cli("synth " + quote(model) + " --layers 1 --hidden 64 --ffn 128 --vocab 64");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return model;
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

BOOST_AUTO_TEST_CASE(malformed_descriptors_are_refused_at_load_with_path_and_reason) {
  auto r = cli("plugins --json --plugin-dir " + quote(kTestPlugins / "malformed"));
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  std::map<std::string, std::string> reasons;
  const auto json = nlohmann::json::parse(r.out);
  for (const auto& f : json["failed"])
    reasons[fs::path(f["file"].get<std::string>()).filename().string()] = f["reason"].get<std::string>();
  const std::map<std::string, std::string> expected{
      {"qf_malformed_1.so", "the plugin descriptor has no name or version"},
      {"qf_malformed_2.so", "a codec descriptor has no name"},
      {"qf_malformed_3.so", "the plugin descriptor declares 4294967295 codecs and 0 containers (at most 1024 each)"},
      {"qf_malformed_4.so", "the plugin provides no codecs, containers or transcoders"},
      {"qf_malformed_5.so", "codec 'qf_zero_block' declares an empty block (0 elements, 8 bytes)"},
      {"qf_malformed_6.so", "codec 'qf_no_functions' has neither encode nor decode"},
      {"qf_malformed_7.so", "container 'qf_noprobe' has no probe function"},
      {"qf_malformed_8.so", "codec 'qf_null_id' has a null container id at index 0"},
      {"qf_malformed_9.so", "codec 'qf_twice' is listed twice"},
      {"qf_malformed_10.so", "container 'qf_inert' can neither read nor write"},
      {"qf_malformed_11.so", "the plugin's entry point threw: entry exploded"},
  };
  BOOST_CHECK_EQUAL(reasons.size(), expected.size());
  for (const auto& [file, reason] : expected) BOOST_CHECK_EQUAL(reasons[file], reason);
  // The good plugins still load beside the broken ones.
  auto text = cli("plugins --plugin-dir " + quote(kTestPlugins / "malformed"));
  BOOST_CHECK_NE(text.out.find("[codec q8_0]"), std::string::npos);
  BOOST_CHECK_NE(text.out.find("11 plugins failed to load:\n"), std::string::npos);
  BOOST_CHECK_NE(text.out.find((kTestPlugins / "malformed" / "qf_malformed_5.so").string() +
                               ": codec 'qf_zero_block' declares an empty block (0 elements, 8 bytes)\n"),
                 std::string::npos);
}

// The rule: the first plugin in search order keeps a name; a later one offering it is
// refused whole, and the message names both files.
BOOST_AUTO_TEST_CASE(a_second_provider_of_a_codec_name_is_refused_naming_both_files) {
  auto r = cli("plugins --plugin-dir " + quote(kTestPlugins / "duplicate"));
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  const fs::path first = fs::path(QF_PLUGIN_DIR) / "quantflow-codec-q8_0.so";
  BOOST_CHECK_NE(r.out.find("1 plugin failed to load:\n  " + (kTestPlugins / "duplicate").string() +
                            "/qf_test_duplicate_q8_0.so: codec 'q8_0' is already provided by " +
                            fs::weakly_canonical(first).string() + "; the first plugin in search order wins\n"),
                 std::string::npos);
  // The first provider still does the work.
  qf_test::TempDir tmp;
  const auto model = small_model(tmp);
  auto with = cli("convert -q --type q8_0 --plugin-dir " + quote(kTestPlugins / "duplicate") + " " + quote(model) +
                  " " + quote(tmp / "a.gguf"));
  auto without = cli("convert -q --type q8_0 " + quote(model) + " " + quote(tmp / "b.gguf"));
  BOOST_REQUIRE_EQUAL(with.exit_code, 0);
  BOOST_REQUIRE_EQUAL(without.exit_code, 0);
  BOOST_CHECK(qf_test::read_bytes(tmp / "a.gguf") == qf_test::read_bytes(tmp / "b.gguf"));
}

BOOST_AUTO_TEST_CASE(codec_errors_and_exceptions_at_use_name_the_plugin) {
  qf_test::TempDir tmp;
  const auto model = small_model(tmp);
  const std::string prefix = "quantflow: error: " + model.string() + ": tensor 'token_embd.weight': ";
  auto fails = cli("convert -q" + faulty_dir() + "--type qf_fail " + quote(model) + " " + quote(tmp / "o.gguf"));
  BOOST_CHECK_EQUAL(fails.exit_code, 1);
  BOOST_CHECK_EQUAL(fails.err, prefix + "qf_fail encode failed: the codec failed with an unknown code (plugin " +
                                   kFaulty.string() + ")\n");
  auto throws = cli("convert -q" + faulty_dir() + "--type qf_throw " + quote(model) + " " + quote(tmp / "o.gguf"));
  BOOST_CHECK_EQUAL(throws.exit_code, 1);
  BOOST_CHECK_EQUAL(throws.err,
                    prefix + "qf_throw encode failed: it threw: encoder exploded (plugin " + kFaulty.string() + ")\n");
  BOOST_CHECK(files_in(tmp.path) == (std::vector<std::string>{"m.gguf"}));
}

BOOST_AUTO_TEST_CASE(container_open_and_create_that_throw_name_the_plugin) {
  qf_test::TempDir tmp;
  const auto model = small_model(tmp);
  const auto odd = tmp / "x.qfthrow";
  qf_test::write_text(odd, "QFTHROW and then some");
  auto open = cli("inspect" + faulty_dir() + quote(odd));
  BOOST_CHECK_EQUAL(open.exit_code, 1);
  BOOST_CHECK_EQUAL(open.err, "quantflow: error: " + odd.string() + ": container 'qfthrow' (" + kFaulty.string() +
                                  ") threw while opening: reader exploded\n");
  const auto out = tmp / "o.qfthrow";
  auto create = cli("convert -q" + faulty_dir() + quote(model) + " " + quote(out));
  BOOST_CHECK_EQUAL(create.exit_code, 1);
  BOOST_CHECK_EQUAL(create.err, "quantflow: error: " + out.string() + ": container 'qfthrow' (" + kFaulty.string() +
                                    ") threw while creating a writer: writer exploded\n");
  BOOST_CHECK(files_in(tmp.path) == (std::vector<std::string>{"m.gguf", "x.qfthrow"}));
}

// Readers and writers are wrapped: an exception thrown mid-conversion is an error naming the
// container, the plugin file and the file it concerns, and the output is not left behind.
BOOST_AUTO_TEST_CASE(reader_and_writer_that_throw_mid_conversion_name_the_plugin) {
  qf_test::TempDir tmp;
  const auto model = small_model(tmp);
  const auto odd = tmp / "x.qflate";
  qf_test::write_text(odd, "QFLATE and then some");
  auto read = cli("convert -q" + faulty_dir() + quote(odd) + " " + quote(tmp / "o.gguf"));
  BOOST_CHECK_EQUAL(read.exit_code, 1);
  BOOST_CHECK_EQUAL(read.err, "quantflow: error: " + odd.string() + ": tensor 't': container 'qflate' (" +
                                  kFaulty.string() + ") threw while reading a tensor: read exploded\n");
  const auto out = tmp / "o.qflate";
  auto write = cli("convert -q" + faulty_dir() + quote(model) + " " + quote(out));
  BOOST_CHECK_EQUAL(write.exit_code, 1);
  BOOST_CHECK_EQUAL(write.err, "quantflow: error: " + out.string() +
                                   ": tensor 'token_embd.weight': container 'qflate' (" + kFaulty.string() +
                                   ") threw while writing a tensor: write exploded\n");
  BOOST_CHECK(files_in(tmp.path) == (std::vector<std::string>{"m.gguf", "x.qflate"}));
}
