// Split outputs on every command: --split-max-size and --split-max-tensors on convert,
// quantize and run (and output.split_max_tensors in recipes), the files each container writes,
// and every split read back from its first file. Comparisons with llama.cpp's own tools are in
// test_split_llama_cpp.cpp.
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::quote;
using qf_test::tensors_of;
namespace fs = std::filesystem;

namespace {

qf_test::CommandResult run_ok(const std::string& args) {
  auto r = cli(args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, args << "\n" << r.err << r.out);
  return r;
}

std::string shard(const std::string& stem, int number, int count, const std::string& extension = ".gguf") {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "-%05d-of-%05d", number, count);
  return stem + suffix + extension;
}

// A synthetic llama of 21 tensors: token_embd, output_norm, output and 9 per layer.
struct Model {
  qf_test::TempDir dir;
  fs::path path = qf_test::synth_model(dir / "m.gguf", "--layers 2 --hidden 256 --ffn 512 --vocab 300");
};

// The per-shard tensor counts `inspect` reports for a split model.
std::vector<uint64_t> shard_tensors(const fs::path& first) {
  auto r = run_ok("inspect --json " + quote(first));
  const nlohmann::json info = nlohmann::json::parse(r.out);
  std::vector<uint64_t> out;
  for (const auto& n : info["properties"]["shard_tensors"]) out.push_back(n.get<uint64_t>());
  return out;
}

void expect_error(const std::string& args, const std::string& line) {
  auto r = cli(args);
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + line + "\n");
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_command_splits_by_tensor_count) {
  Model m;
  const auto whole = tensors_of(m.path);
  // convert: 8 + 8 + 5 tensors, the first shard reads as the whole model.
  auto r = run_ok("convert " + quote(m.path) + " " + quote(m.dir / "c.gguf") + " --split-max-tensors 8");
  BOOST_CHECK(r.out.starts_with("wrote " + (m.dir / shard("c", 1, 3)).string() + " and 2 more: 21 tensors"));
  BOOST_CHECK((shard_tensors(m.dir / shard("c", 1, 3)) == std::vector<uint64_t>{8, 8, 5}));
  BOOST_CHECK(tensors_of(m.dir / shard("c", 1, 3)) == whole);
  BOOST_CHECK(!fs::exists(m.dir / "c.gguf"));

  // quantize: the shards hold the unsplit quantization's tensors.
  run_ok("quantize -q " + quote(m.path) + " " + quote(m.dir / "q.gguf") + " Q8_0");
  run_ok("quantize -q " + quote(m.path) + " " + quote(m.dir / "qs.gguf") + " Q8_0 --split-max-tensors 10");
  BOOST_CHECK((shard_tensors(m.dir / shard("qs", 1, 3)) == std::vector<uint64_t>{10, 10, 1}));
  BOOST_CHECK(tensors_of(m.dir / shard("qs", 1, 3)) == tensors_of(m.dir / "q.gguf"));

  // run: the command line overrides the recipe, and output.split_max_tensors does the same.
  const fs::path recipe = m.dir / "r.yaml";
  qf_test::write_text(recipe, "inputs: " + m.path.string() + "\noutput: " + (m.dir / "r.gguf").string() + "\n");
  run_ok("run -q " + quote(recipe) + " --split-max-tensors 11");
  BOOST_CHECK((shard_tensors(m.dir / shard("r", 1, 2)) == std::vector<uint64_t>{11, 10}));
  qf_test::write_text(recipe, "inputs: " + m.path.string() + "\noutput:\n  path: " + (m.dir / "y.gguf").string() +
                                  "\n  split_max_tensors: 7\n");
  run_ok("run -q " + quote(recipe));
  BOOST_CHECK((shard_tensors(m.dir / shard("y", 1, 3)) == std::vector<uint64_t>{7, 7, 7}));
  BOOST_CHECK(tensors_of(m.dir / shard("y", 1, 3)) == whole);
}

BOOST_AUTO_TEST_CASE(size_limit_is_tensor_data_in_decimal_units) {
  Model m;
  // token_embd and output are 300 x 256 f32 (307,200 bytes each); every layer matrix is at
  // most 524,288. With 1M (10^6 bytes) a shard holds at most 1,000,000 bytes of tensor data.
  run_ok("convert -q " + quote(m.path) + " " + quote(m.dir / "c.gguf") + " --split-max-size 1M");
  const auto counts = shard_tensors(m.dir / shard("c", 1, 7));
  BOOST_REQUIRE_EQUAL(counts.size(), 7u);
  auto reader = qf_test::plugins().open_reader((m.dir / shard("c", 1, 7)).string());
  BOOST_REQUIRE(reader.ok());
  const auto& tensors = (*reader)->tensors();
  size_t next = 0;
  for (uint64_t count : counts) {
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < count; ++i) bytes += tensors[next++].n_bytes;
    BOOST_CHECK_LE(bytes, 1'000'000u);
    // The next tensor would not have fitted (a mebibyte would have taken it).
    if (next < tensors.size()) BOOST_CHECK_GT(bytes + tensors[next].n_bytes, 1'000'000u);
  }
  // A mebibyte packs the same tensors into fewer files.
  run_ok("convert -q " + quote(m.path) + " " + quote(m.dir / "b.gguf") + " --split-max-size 1MiB");
  BOOST_CHECK_EQUAL(shard_tensors(m.dir / shard("b", 1, 6)).size(), 6u);
}

BOOST_AUTO_TEST_CASE(safetensors_and_apr_outputs_split_and_read_back_from_the_first_file) {
  Model m;
  const auto whole = tensors_of(m.path);
  run_ok("convert -q " + quote(m.path) + " " + quote(m.dir / "s.safetensors") + " --split-max-tensors 8");
  const fs::path first = m.dir / shard("s", 1, 3, ".safetensors");
  BOOST_CHECK(fs::exists(m.dir / "s.safetensors.index.json"));
  BOOST_CHECK(tensors_of(first) == whole);
  BOOST_CHECK(tensors_of(m.dir / "s.safetensors.index.json") == whole);
  BOOST_CHECK_EQUAL(shard_tensors(first).size(), 3u);
  expect_error("inspect " + quote(m.dir / shard("s", 2, 3, ".safetensors")),
               (m.dir / shard("s", 2, 3, ".safetensors")).string() +
                   ": this is shard 2 of 3 of a split checkpoint; give the first shard, s-00001-of-00003.safetensors, "
                   "or its index, s.safetensors.index.json");
  // Without its index beside it, a file named like a shard is just a file.
  fs::remove(m.dir / "s.safetensors.index.json");
  BOOST_CHECK_EQUAL(tensors_of(m.dir / shard("s", 2, 3, ".safetensors")).size(), 8u);

  run_ok("convert -q " + quote(m.path) + " " + quote(m.dir / "a.apr") + " --split-max-tensors 8");
  BOOST_CHECK(tensors_of(m.dir / shard("a", 1, 3, ".apr")) == whole);
  BOOST_CHECK((shard_tensors(m.dir / shard("a", 1, 3, ".apr")) == std::vector<uint64_t>{8, 8, 5}));
}

BOOST_AUTO_TEST_CASE(bad_split_options_are_usage_errors) {
  Model m;
  const std::string io = quote(m.path) + " " + quote(m.dir / "o.gguf");
  expect_error("convert " + io + " --split-max-tensors 0",
               "--split-max-tensors must be a count of at least 1, not '0'");
  expect_error("quantize " + io + " Q8_0 --split-max-tensors -3",
               "--split-max-tensors must be a count of at least 1, not '-3'");
  expect_error("convert " + io + " --split-max-size 2X",
               "'2X' is not a split size; use e.g. 512M or 2G (10^6 and 10^9 bytes, as llama-gguf-split reads them), "
               "4GiB, or a number of bytes");
  expect_error("quantize " + io + " Q8_0 --keep-split --split-max-size 1M",
               "--keep-split keeps the input's shards; it cannot be combined with --split-max-size or "
               "--split-max-tensors");
  BOOST_CHECK(qf_test::listing(m.dir.path) == std::vector<std::string>{"m.gguf"});
}

BOOST_AUTO_TEST_CASE(keep_split_keeps_the_input_shards) {
  Model m;
  run_ok("convert -q " + quote(m.path) + " " + quote(m.dir / "in.gguf") + " --split-max-tensors 6");
  const fs::path first = m.dir / shard("in", 1, 4);
  run_ok("quantize -q --keep-split " + quote(first) + " " + quote(m.dir / "k.gguf") + " Q8_0");
  const fs::path out = m.dir / shard("k", 1, 4);
  BOOST_CHECK((shard_tensors(out) == std::vector<uint64_t>{6, 6, 6, 3}));
  // Each output shard holds the input shard's tensors, in the input's order.
  auto in_reader = qf_test::plugins().open_reader(first.string());
  auto out_reader = qf_test::plugins().open_reader(out.string());
  BOOST_REQUIRE(in_reader.ok() && out_reader.ok());
  BOOST_REQUIRE_EQUAL((*out_reader)->tensors().size(), 21u);
  for (size_t i = 0; i < 21; ++i) BOOST_CHECK_EQUAL((*out_reader)->tensors()[i].name, (*in_reader)->tensors()[i].name);
  // The same tensors as quantizing the unsplit model.
  run_ok("quantize -q " + quote(m.path) + " " + quote(m.dir / "q.gguf") + " Q8_0");
  BOOST_CHECK(tensors_of(out) == tensors_of(m.dir / "q.gguf"));

  // A sharded safetensors input keeps its shards too (the output is GGUF).
  run_ok("convert -q " + quote(m.path) + " " + quote(m.dir / "st.safetensors") + " --split-max-tensors 11");
  run_ok("quantize -q --keep-split " + quote(m.dir / "st.safetensors.index.json") + " " + quote(m.dir / "ks.gguf") +
         " Q8_0");
  BOOST_CHECK_EQUAL(shard_tensors(m.dir / shard("ks", 1, 2)).size(), 2u);
}

BOOST_AUTO_TEST_CASE(model_cards_describe_every_shard) {
  Model m;
  fs::create_directory(m.dir / "card");
  run_ok("quantize -q " + quote(m.path) + " " + quote(m.dir / "card" / "q.gguf") +
         " Q8_0 --split-max-tensors 10 --model-card");
  const auto bytes = qf_test::read_bytes(m.dir / "card" / "README.md");
  const std::string card(bytes.begin(), bytes.end());
  BOOST_CHECK_MESSAGE(card.find("| tensors | 21 |") != std::string::npos, card);
  BOOST_CHECK_MESSAGE(
      card.find("| files | `q-00001-of-00003.gguf`, `q-00002-of-00003.gguf`, `q-00003-of-00003.gguf` |") !=
          std::string::npos,
      card);
}

// The shards of one output are published together, so all of them are open at once: a split into
// more files than the soft descriptor limit still works (quantflow raises it to the hard limit).
BOOST_AUTO_TEST_CASE(more_shards_than_the_soft_descriptor_limit) {
  qf_test::TempDir dir;
  const fs::path model = qf_test::synth_model(dir / "m.gguf", "--layers 14 --hidden 32 --ffn 64 --vocab 32");  // 129
  const auto r = qf_test::run("ulimit -Sn 64 && " + quote(QF_CLI) + " convert -q " + quote(model) + " " +
                              quote(dir / "s.gguf") + " --split-max-tensors 1");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_CHECK(fs::exists(dir / shard("s", 129, 129)));
  BOOST_CHECK_EQUAL(qf_test::listing(dir.path).size(), 130u);  // the shards and the model
}
