// Which files of an input folder a folder output carries (engine/carried_files), for a
// container whose patterns also match the files it writes itself: those never are.
#include <boost/test/unit_test.hpp>

#include "pipeline/engine/carried_files.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using quantflow::pipeline::Conversion;

namespace {

// Broad patterns, a null and an empty entry (ignored) and one with a '/' (matches no name).
const char* const kPatterns[] = {"*.json", nullptr, "", "model*", "extra/*"};
const QfCompanionFile kCompanions[] = {{.name = "config.json", .text = nullptr}};
const QfFolderLayout kLayout = {
    .weights_file = "model.safetensors",
    .companions = kCompanions,
    .n_companions = 1,
    .carried_files = kPatterns,
    .n_carried_files = std::size(kPatterns),
};
const QfSplitConvention kSplit = {.file_name = "{stem}-{number:05d}-of-{count:05d}{extension}",
                                  .metadata_in_every_file = 1,
                                  .split_keys = nullptr,
                                  .tag_file = nullptr,
                                  .index_suffix = ".index.json",
                                  .index_text = nullptr};
const QfContainerDescriptor kContainer = {.name = "fake",
                                          .description = "a folder writer with broad patterns",
                                          .extensions = "",
                                          .probe = nullptr,
                                          .open_reader = nullptr,
                                          .create_writer = nullptr,
                                          .split = &kSplit,
                                          .folder = &kLayout};

std::vector<std::string> names_of(const Conversion& conversion) {
  auto planned = quantflow::pipeline::plan_carried_files(conversion);
  BOOST_REQUIRE_MESSAGE(planned.ok(), planned.status().to_string());
  std::vector<std::string> names;
  for (const auto& file : *planned) names.push_back(file.name);
  return names;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_files_the_container_writes_are_never_carried) {
  qf_test::TempDir tmp;
  const fs::path in = tmp / "in", out = tmp / "out";
  fs::create_directories(in / "extra");
  for (const char* name : {"config.json", "model.safetensors", "model.safetensors.index.json",
                           "model-00001-of-00002.safetensors", "model-extra.json", "tokenizer.json", "notes.txt"})
    qf_test::write_text(in / name, name);
  qf_test::write_text(in / "extra" / "vocab.json", "{}");
  Conversion conversion;
  conversion.container = &kContainer;
  conversion.input_paths = {in.string()};
  conversion.folder = out.string();
  conversion.files = {{(out / "model-00001-of-00002.safetensors").string(), {}},
                      {(out / "model-00002-of-00002.safetensors").string(), {}}};
  conversion.index_path = (out / "model.safetensors.index.json").string();
  BOOST_CHECK((names_of(conversion) == std::vector<std::string>{"model-extra.json", "tokenizer.json"}));
  auto planned = quantflow::pipeline::plan_carried_files(conversion);
  BOOST_REQUIRE(planned.ok());
  BOOST_CHECK_EQUAL(planned->back().source, (in / "tokenizer.json").string());
  BOOST_CHECK_EQUAL(planned->back().target, (out / "tokenizer.json").string());
  BOOST_CHECK_EQUAL(quantflow::pipeline::carried_summary(conversion, {"model-extra.json", "tokenizer.json"}),
                    "carried from " + in.string() + ": model-extra.json, tokenizer.json");

  // Not a folder output, two inputs, or an input file: nothing.
  Conversion plain = conversion;
  plain.folder.clear();
  BOOST_CHECK(names_of(plain).empty());
  Conversion merged = conversion;
  merged.input_paths.push_back((in / "extra").string());
  BOOST_CHECK(names_of(merged).empty());
  BOOST_CHECK_EQUAL(quantflow::pipeline::carried_summary(merged, {}),
                    "carried no tokenizer or generation files: the model comes from 2 inputs; copy them from the "
                    "folder they belong to");
  Conversion from_file = conversion;
  from_file.input_paths = {(in / "model.safetensors").string()};
  BOOST_CHECK(names_of(from_file).empty());
  BOOST_CHECK_EQUAL(quantflow::pipeline::carried_summary(from_file, {}), "");
}
