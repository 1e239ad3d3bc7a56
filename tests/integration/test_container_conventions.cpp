// Containers declare their conventions (writer options, split layout, file type) and the host
// follows the declaration: unknown or mistyped writer options are refused before anything
// is written, split files are named and tagged the container's way, and a uniform encoding is
// recorded where the container keeps one.
#include <fstream>
#include <iterator>
#include <map>

#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::listing;
using qf_test::quote;
namespace fs = std::filesystem;

namespace {

fs::path synth(const qf_test::TempDir& dir) {
  return qf_test::synth_model(dir / "m.gguf", "--layers 2 --hidden 256 --ffn 512 --vocab 256");
}

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The u16 value of a GGUF key in one file's raw header: the key's bytes are followed by its
// u32 value type (2: u16) and the value, little-endian.
uint64_t raw_u16(const std::string& bytes, const std::string& key) {
  const size_t at = bytes.find(key);
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, key);
  BOOST_REQUIRE_EQUAL(static_cast<uint8_t>(bytes[at + key.size()]), 2u);
  return static_cast<uint8_t>(bytes[at + key.size() + 4]) | (static_cast<uint8_t>(bytes[at + key.size() + 5]) << 8);
}

uint64_t u64_of(const quantflow::Metadata& metadata, const std::string& key) {
  const quantflow::MetaValue* value = metadata.find(key);
  BOOST_REQUIRE_MESSAGE(value != nullptr, key);
  return value->as_u64();
}

}  // namespace

BOOST_AUTO_TEST_CASE(writer_options_are_checked_against_the_declaration) {
  qf_test::TempDir tmp;
  const fs::path model = synth(tmp);
  auto unknown = cli("convert --option alignment=64 " + quote(model) + " " + quote(tmp / "o.gguf"));
  BOOST_CHECK_EQUAL(unknown.exit_code, 2);
  BOOST_CHECK_EQUAL(unknown.err,
                    "quantflow: error: the gguf writer has no option 'alignment' (its options: allow_unloadable)\n");
  auto mistyped = cli("convert --option allow_unloadable=yes " + quote(model) + " " + quote(tmp / "o.gguf"));
  BOOST_CHECK_EQUAL(mistyped.exit_code, 2);
  BOOST_CHECK_MESSAGE(mistyped.err.starts_with("quantflow: error: the gguf writer's option 'allow_unloadable' must be "
                                               "1, 0, true or false, not 'yes'"),
                      mistyped.err);
  auto none = cli("convert --option allow_unloadable=1 " + quote(model) + " " + quote(tmp / "o.safetensors"));
  BOOST_CHECK_EQUAL(none.exit_code, 2);
  BOOST_CHECK_EQUAL(
      none.err, "quantflow: error: the safetensors writer has no option 'allow_unloadable' (it takes no options)\n");
  BOOST_CHECK(listing(tmp.path) == std::vector<std::string>{"m.gguf"});

  // In a recipe the refusal names the option's line.
  const fs::path recipe = tmp / "r.yaml";
  qf_test::write_text(recipe, "inputs: [m.gguf]\noutput:\n  path: o.gguf\n  options:\n    alignmnt: 64\n");
  auto r = cli("run " + quote(recipe));
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + recipe.string() +
                               ":5:5: the gguf writer has no option 'alignmnt' (its options: allow_unloadable)\n");
}

BOOST_AUTO_TEST_CASE(split_files_follow_the_container_convention) {
  qf_test::TempDir tmp;
  const fs::path model = synth(tmp);
  for (const std::string ext : {"gguf", "safetensors"}) {
    const fs::path recipe = tmp / ("split-" + ext + ".yaml");
    qf_test::write_text(recipe, "inputs: [m.gguf]\noutput:\n  path: s." + ext + "\n  split_size: 2M\n");
    auto r = cli("run -q " + quote(recipe));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
  // The synthetic model holds about 5 MiB of F32 weights: three files of at most 2 MiB.
  const std::vector<std::string> gguf = {"s-00001-of-00003.gguf", "s-00002-of-00003.gguf", "s-00003-of-00003.gguf"};
  for (size_t i = 0; i < gguf.size(); ++i) {
    const std::string bytes = file_text(tmp / gguf[i]);
    BOOST_CHECK_EQUAL(raw_u16(bytes, "split.no"), i);
    BOOST_CHECK_EQUAL(raw_u16(bytes, "split.count"), 3u);
    // GGUF keeps the model's metadata in the first file only.
    BOOST_CHECK_EQUAL(bytes.find("general.architecture") != std::string::npos, i == 0);
  }
  // safetensors: every file is complete, an index maps tensors to files.
  BOOST_CHECK(fs::exists(tmp / "s-00003-of-00003.safetensors"));
  const std::string index = file_text(tmp / "s.safetensors.index.json");
  BOOST_CHECK_MESSAGE(index.find("\"token_embd.weight\": \"s-00001-of-00003.safetensors\"") != std::string::npos,
                      index);
}

BOOST_AUTO_TEST_CASE(a_uniform_encoding_is_recorded_where_the_container_keeps_one) {
  qf_test::TempDir tmp;
  const fs::path model = synth(tmp);
  BOOST_REQUIRE_EQUAL(cli("convert -q --type q4_k " + quote(model) + " " + quote(tmp / "o.gguf")).exit_code, 0);
  const auto metadata = qf_test::metadata_of(tmp / "o.gguf");
  BOOST_CHECK_EQUAL(u64_of(metadata, "general.file_type"), 15u);  // llama's MOSTLY_Q4_K_M id for q4_k
  BOOST_CHECK_EQUAL(u64_of(metadata, "general.quantization_version"), 2u);
  // A preset names the container whose file type it is.
  const fs::path preset = tmp / "NOCONTAINER.yaml";
  qf_test::write_text(preset, "name: NOCONTAINER\nftype: 7\ndefault_type: q8_0\n");
  auto r = cli("quantize " + quote(model) + " " + quote(tmp / "q.gguf") + " " + quote(preset));
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_MESSAGE(r.err.find("a preset needs 'container'") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(plugins_shows_what_each_container_declares) {
  auto r = cli("plugins --json");
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  const auto report = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> containers;
  for (const auto& c : report["containers"]) containers[c["name"].get<std::string>()] = c;
  const auto& gguf = containers.at("gguf");
  BOOST_CHECK_EQUAL(gguf["writer_options"].size(), 1u);
  BOOST_CHECK_EQUAL(gguf["writer_options"][0]["key"], "allow_unloadable");
  BOOST_CHECK_EQUAL(gguf["writer_options"][0]["type"], "bool");
  BOOST_CHECK_EQUAL(gguf["split"]["file_name"], "{stem}-{number:05d}-of-{count:05d}{extension}");
  BOOST_CHECK_EQUAL(gguf["split"]["split_keys"], "split.no split.count split.tensors.count");
  BOOST_CHECK(gguf["split"]["index_suffix"].is_null());
  BOOST_CHECK_EQUAL(gguf["file_type_key"], "general.file_type");
  const auto& st = containers.at("safetensors");
  BOOST_CHECK(st["writer_options"].empty());
  BOOST_CHECK_EQUAL(st["split"]["index_suffix"], ".index.json");
  BOOST_CHECK_EQUAL(st["split"]["metadata_in_every_file"], true);
  BOOST_CHECK(st["file_type_key"].is_null());

  auto text = cli("plugins");
  BOOST_CHECK_MESSAGE(text.out.find("      --option allow_unloadable=<bool> (default 0): write files llama.cpp cannot "
                                    "load") != std::string::npos,
                      text.out);
  BOOST_CHECK_MESSAGE(text.out.find("      split files: {stem}-{number:05d}-of-{count:05d}{extension} with an index "
                                    "<output>.index.json\n") != std::string::npos,
                      text.out);
}
