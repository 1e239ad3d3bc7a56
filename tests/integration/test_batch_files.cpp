// The batch file format's schema (docs/batch.schema.json) against every example batch file under
// configs/ and the reference block of docs/build-farm.md, and the parser against the same files.
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "batch/batch_file.hpp"
#include "support/json_schema.hpp"
#include "support/test_support.hpp"

using nlohmann::json;
using qf_test::check_schema;
using qf_test::yaml_to_json;
namespace fs = std::filesystem;

namespace {

json batch_schema() {
  std::ifstream in(qf_test::repo_dir() / "docs" / "batch.schema.json");
  return json::parse(in);
}

// The ```yaml blocks of a document.
std::vector<std::string> yaml_blocks(const fs::path& doc) {
  std::ifstream in(doc);
  std::vector<std::string> blocks;
  std::string line, block;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) {
      if (inside) blocks.push_back(block);
      inside = !inside && line == "```yaml";
      block.clear();
      continue;
    }
    if (inside) block += line + "\n";
  }
  return blocks;
}

}  // namespace

BOOST_AUTO_TEST_CASE(example_batch_files_match_the_schema_and_parse) {
  const json schema = batch_schema();
  size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(qf_test::repo_dir() / "configs" / "examples")) {
    if (!entry.path().filename().string().starts_with("batch-")) continue;
    const std::string error = check_schema(schema, yaml_to_json(YAML::LoadFile(entry.path().string())), schema, "$");
    BOOST_CHECK_MESSAGE(error.empty(), entry.path().string() << ": " << error);
    auto parsed = quantflow::batch::load_batch_file(entry.path().string());
    BOOST_CHECK_MESSAGE(parsed.ok(), entry.path().string() << ": " << parsed.status().to_string());
    ++checked;
  }
  BOOST_CHECK_GE(checked, 2u);
}

BOOST_AUTO_TEST_CASE(the_reference_block_of_build_farm_md_matches_the_schema) {
  const json schema = batch_schema();
  const auto blocks = yaml_blocks(qf_test::repo_dir() / "docs" / "build-farm.md");
  BOOST_REQUIRE_GE(blocks.size(), 1u);
  const json reference = yaml_to_json(YAML::Load(blocks.front()));
  BOOST_CHECK_EQUAL(check_schema(schema, reference, schema, "$"), "");
  BOOST_CHECK_EQUAL(reference["jobs"].size(), 7u);
  // The parser takes it up to the recipe file that only exists on the page's imaginary farm.
  auto parsed = quantflow::batch::parse_batch_file(blocks.front(), "build-farm.md", "/farm");
  BOOST_REQUIRE(!parsed.ok());
  BOOST_CHECK_EQUAL(parsed.status().to_string(), "build-farm.md:16:13: no recipe file /farm/recipes/my-mixture.yaml");
}

BOOST_AUTO_TEST_CASE(the_schema_rejects_what_the_parser_rejects) {
  const json schema = batch_schema();
  const auto rejects = [&](const std::string& text) {
    return !check_schema(schema, yaml_to_json(YAML::Load(text)), schema, "$").empty() &&
           !quantflow::batch::parse_batch_file(text, "b.yaml", "/farm").ok();
  };
  BOOST_CHECK(rejects("models: [a.gguf]\njobs: [{preset: Q8_0}]\nbogus: 1"));
  BOOST_CHECK(rejects("jobs: [{preset: Q8_0}]"));
  BOOST_CHECK(rejects("models: [a.gguf]\njobs: [{preset: Q8_0, type: q8_0}]"));
  BOOST_CHECK(rejects("models: [a.gguf]\njobs: [{name: x}]"));
  BOOST_CHECK(rejects("models: [a.gguf]\njobs: [{preset: Q8_0}]\nslurm: {gpus: 1}"));
  BOOST_CHECK(!rejects("models: [a.gguf]\njobs: [{preset: Q8_0}]"));
}
