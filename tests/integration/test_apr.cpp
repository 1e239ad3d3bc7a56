// The APR container through the CLI: GGUF and safetensors to APR and back (every tensor's
// bytes, and the whole file, unchanged), compressed tensors, APR's native encodings, sharded
// output read back from its first shard or its manifest, and the refusals a user meets.
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

void expect_error(const std::string& args, const std::string& line) {
  auto r = cli(args);
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + line + "\n");
}

nlohmann::json properties(const fs::path& file) {
  return nlohmann::json::parse(run_ok("inspect --json " + quote(file)).out)["properties"];
}

// A -> APR -> A gives the file quantflow writes for A (the same file, for files quantflow
// wrote), and the APR file holds the same tensors.
void check_round_trip(const fs::path& source, const fs::path& dir, const std::string& extension,
                      const std::string& options = "") {
  const fs::path apr = dir / "copy.apr", back = dir / ("back" + extension), direct = dir / ("direct" + extension);
  run_ok("convert -q " + quote(source) + " " + quote(apr) + options);
  run_ok("convert -q " + quote(apr) + " " + quote(back));
  run_ok("convert -q " + quote(source) + " " + quote(direct));
  BOOST_CHECK(tensors_of(apr) == tensors_of(source));
  BOOST_CHECK_MESSAGE(qf_test::read_bytes(back) == qf_test::read_bytes(direct), back << " differs from " << direct);
  fs::remove(direct);
}

// A synthetic model written by the example recipe (configs/examples/apr-output.yaml).
struct AprShards {
  qf_test::TempDir dir;
  fs::path model = qf_test::synth_model(dir / "model.gguf", "--layers 2 --hidden 256 --ffn 512 --vocab 300");
  int count = 0;
  explicit AprShards(const std::string& extra = "") {
    run_ok("run -q " + quote(qf_test::repo_dir() / "configs" / "examples" / "apr-output.yaml") +
           " --set inputs=" + quote(model) + " --set output.path=" + quote(dir / "m.apr") + extra);
    count = nlohmann::json::parse(qf_test::read_bytes(dir / "m.apr.manifest.json"))["shard_count"].get<int>();
  }
  fs::path shard(int number) const {
    char name[64];
    std::snprintf(name, sizeof name, "m-%05d-of-%05d.apr", number, count);
    return dir / name;
  }
  std::string name(int number) const { return shard(number).filename().string(); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(round_trips)

BOOST_AUTO_TEST_CASE(gguf_to_apr_and_back) {
  qf_test::TempDir dir;
  const fs::path model = qf_test::synth_model(dir / "model.gguf", "--layers 2 --hidden 256 --ffn 512 --vocab 300");
  check_round_trip(model, dir.path, ".gguf");
  BOOST_CHECK(qf_test::read_bytes(dir / "back.gguf") == qf_test::read_bytes(model));
  const auto p = properties(dir / "copy.apr");
  BOOST_CHECK_EQUAL(p["flags"], "LAYOUT_ROW_MAJOR");
  BOOST_CHECK_EQUAL(p["tensor_compression"], "none");
  // The GGUF metadata with its types and order, through APR's JSON.
  BOOST_CHECK(qf_test::metadata_of(dir / "copy.apr") == qf_test::metadata_of(model));
}

BOOST_AUTO_TEST_CASE(stories260k, *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qf_test::TempDir dir;
  const fs::path model = qf_test::shared_testdata() / "models" / "stories260K.gguf";
  check_round_trip(model, dir.path, ".gguf");
  BOOST_CHECK(qf_test::read_bytes(dir / "back.gguf") == qf_test::read_bytes(model));
}

BOOST_AUTO_TEST_CASE(safetensors_to_apr_and_back) {
  qf_test::TempDir dir;
  const fs::path model = qf_test::synth_model(dir / "model.gguf", "--layers 1 --hidden 64 --ffn 128 --vocab 64");
  const fs::path st = dir / "model.safetensors";
  run_ok("convert -q " + quote(model) + " " + quote(st));
  check_round_trip(st, dir.path, ".safetensors");
  BOOST_CHECK(qf_test::read_bytes(dir / "back.safetensors") == qf_test::read_bytes(st));
  if (qf_test::shared_part_available("aprender's safetensors file")) {
    qf_test::TempDir other;
    check_round_trip(qf_test::shared_testdata() / "models" / "aprender-linear-model.safetensors", other.path,
                     ".safetensors");
  }
}

BOOST_AUTO_TEST_CASE(compressed_tensors) {
  qf_test::TempDir dir;
  const fs::path model = qf_test::synth_model(dir / "model.gguf", "--layers 1 --hidden 64 --ffn 128 --vocab 64");
  check_round_trip(model, dir.path, ".gguf", " --option compress_tensors=zstd:9");
  BOOST_CHECK(qf_test::read_bytes(dir / "back.gguf") == qf_test::read_bytes(model));
  const auto p = properties(dir / "copy.apr");
  BOOST_CHECK_EQUAL(p["flags"], "ZSTD_COMPRESSED|LAYOUT_ROW_MAJOR");
  BOOST_CHECK_EQUAL(p["tensor_compression"], "zstd (one frame per tensor)");
  // Nothing but the output is left beside it (the scratch file has no name).
  BOOST_CHECK(qf_test::listing(dir.path) == (std::vector<std::string>{"back.gguf", "copy.apr", "model.gguf"}));
  expect_error(
      "convert -q " + quote(model) + " " + quote(dir / "x.apr") + " --option compress_tensors=lz4",
      (dir / "x.apr").string() + ": compress_tensors must be none, zstd or zstd:LEVEL with LEVEL 1 to 22, not 'lz4'");
  BOOST_CHECK(!fs::exists(dir / "x.apr"));
}

// APR's own encodings from the command line, checked by verify against the source.
BOOST_AUTO_TEST_CASE(native_encodings) {
  qf_test::TempDir dir;
  const fs::path model = qf_test::synth_model(dir / "model.gguf", "--layers 1 --hidden 256 --ffn 512 --vocab 64");
  for (const char* type : {"apr_q4", "apr_q8", "q4_k", "q6_k", "f16", "bf16"}) {
    BOOST_TEST_CONTEXT(type) {
      const fs::path out = dir / (std::string(type) + ".apr");
      run_ok("convert -q --type " + std::string(type) + " " + quote(model) + " " + quote(out));
      const auto p = properties(out);
      const bool quantized = std::string(type).find('q') != std::string::npos;
      BOOST_CHECK_EQUAL(p["flags"], quantized ? "QUANTIZED|LAYOUT_ROW_MAJOR" : "LAYOUT_ROW_MAJOR");
      run_ok("verify " + quote(out) + " --against " + quote(model));
      // Copying an APR file gives the same bytes.
      run_ok("convert -q " + quote(out) + " " + quote(dir / "again.apr"));
      BOOST_CHECK(qf_test::read_bytes(dir / "again.apr") == qf_test::read_bytes(out));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(shards)

BOOST_AUTO_TEST_CASE(example_recipe_writes_shards_and_a_manifest) {
  AprShards s;
  BOOST_REQUIRE_GE(s.count, 3);  // 512K of tensor data per file
  std::vector<std::string> files;
  for (int i = 1; i <= s.count; ++i) files.push_back(s.name(i));
  files.insert(files.end(), {"m.apr.manifest.json", "model.gguf"});
  BOOST_CHECK(qf_test::listing(s.dir.path) == files);
  const auto manifest = nlohmann::json::parse(qf_test::read_bytes(s.dir / "m.apr.manifest.json"));
  BOOST_CHECK_EQUAL(manifest["version"], 1);
  BOOST_CHECK_EQUAL(manifest["tensor_count"], 21);
  BOOST_CHECK_EQUAL(manifest["shards"][1]["filename"], s.name(2));
  BOOST_CHECK_EQUAL(manifest["shards"][1]["index"], 1);
  BOOST_CHECK_EQUAL(manifest["weight_map"]["output.weight"], s.count - 1);
  BOOST_CHECK_EQUAL(manifest["shards"][0]["tensors"][0], "token_embd.weight");
  const auto from_first = tensors_of(s.shard(1));
  BOOST_CHECK_EQUAL(from_first.size(), 21u);
  BOOST_CHECK(tensors_of(s.dir / "m.apr.manifest.json") == from_first);
  const auto p = properties(s.shard(1));
  BOOST_CHECK_EQUAL(p["shards"], s.count);
  BOOST_CHECK_EQUAL(p["flags"], "ZSTD_COMPRESSED|SHARDED|QUANTIZED|LAYOUT_ROW_MAJOR");
  // The model's metadata, without the split keys.
  const auto m = qf_test::metadata_of(s.shard(1));
  BOOST_CHECK(!m.contains("apr.sharding.shard_count") && !m.contains("apr.sharding.pattern"));
  BOOST_CHECK(m == qf_test::metadata_of(s.model));
  run_ok("verify " + quote(s.dir / "m.apr.manifest.json") + " --against " + quote(s.model));
  // Whole again: one file, no sharding left.
  run_ok("convert -q " + quote(s.shard(1)) + " " + quote(s.dir / "whole.apr"));
  BOOST_CHECK(tensors_of(s.dir / "whole.apr") == from_first);
  BOOST_CHECK_EQUAL(properties(s.dir / "whole.apr")["flags"], "QUANTIZED|LAYOUT_ROW_MAJOR");
}

BOOST_AUTO_TEST_CASE(f32_shards_give_the_gguf_back) {
  AprShards s(" --set default_type=f32 --set output.options={}");
  run_ok("convert -q " + quote(s.shard(1)) + " " + quote(s.dir / "back.gguf"));
  BOOST_CHECK(qf_test::read_bytes(s.dir / "back.gguf") == qf_test::read_bytes(s.model));
}

BOOST_AUTO_TEST_CASE(broken_sets_are_refused) {
  AprShards s;
  const std::string of = " of " + std::to_string(s.count);
  expect_error("inspect " + quote(s.shard(2)), s.shard(2).string() + ": this is shard 2" + of +
                                                   " of a sharded APR model; give " + s.name(1) + " (or the manifest)");
  fs::rename(s.shard(3), s.dir / "elsewhere.apr");
  expect_error("convert " + quote(s.shard(1)) + " " + quote(s.dir / "out.apr"),
               s.shard(3).string() + ": shard 3" + of + " of the sharded model is missing");
  expect_error("inspect " + quote(s.dir / "m.apr.manifest.json"),
               s.shard(3).string() + ": the manifest lists this shard, but it is missing");
  // Shard 2 put where shard 3 belongs.
  fs::copy_file(s.shard(2), s.shard(3));
  expect_error(
      "inspect " + quote(s.shard(1)),
      s.shard(3).string() + ": sharding.shard_index is 1, but the file name says shard 3" + of + " (shard_index 2)");
  expect_error("inspect " + quote(s.dir / "m.apr.manifest.json"),
               s.shard(3).string() + ": its sharding metadata says shard 2" + of + ", the manifest shard 3" + of);
  BOOST_CHECK(!fs::exists(s.dir / "out.apr"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(refusals)

BOOST_AUTO_TEST_CASE(encodings_apr_cannot_hold) {
  qf_test::TempDir dir;
  const fs::path model = qf_test::synth_model(dir / "model.gguf", "--layers 1 --hidden 64 --ffn 128 --vocab 64");
  run_ok("convert -q --type q8_0 " + quote(model) + " " + quote(dir / "q8.gguf"));
  expect_error("convert -q " + quote(dir / "q8.gguf") + " " + quote(dir / "q8.apr"),
               (dir / "q8.apr").string() +
                   ": tensor 'token_embd.weight': APR cannot store q8_0 tensors (its encodings: f32, f16, f64, i32, "
                   "i64, i8, u8, q4_k, q6_k, bf16, apr_q4, apr_q8); choose one of them with --type or a recipe rule");
  expect_error("convert -q --type q4_0 " + quote(model) + " " + quote(dir / "q4.apr"),
               (dir / "q4.apr").string() +
                   ": tensor 'token_embd.weight': APR cannot store q4_0 tensors (its encodings: f32, f16, f64, i32, "
                   "i64, i8, u8, q4_k, q6_k, bf16, apr_q4, apr_q8); choose one of them with --type or a recipe rule");
  BOOST_CHECK(qf_test::listing(dir.path) == (std::vector<std::string>{"model.gguf", "q8.gguf"}));
}

BOOST_AUTO_TEST_CASE(other_apr_generations, *boost::unit_test::precondition(qf_test::shared_data_available())) {
  const fs::path models = qf_test::shared_testdata() / "models";
  expect_error("inspect " + quote(models / "mnist_784x2.apr"),
               (models / "mnist_784x2.apr").string() +
                   ": APR v1 (APRN) holds a serialized aprender model, not a tensor container; re-export it as APR v2 "
                   "with aprender (version 1.0, model type LogisticRegression (0x0002), metadata 47 bytes, payload "
                   "3165 bytes (3165 uncompressed), compression none, trailer CRC 0xF38814FE ok)");
  qf_test::TempDir dir;
  expect_error("convert " + quote(models / "aprender-tsp-att48-aco.apr") + " " + quote(dir / "out.gguf"),
               (models / "aprender-tsp-att48-aco.apr").string() +
                   ": APR file of version 1 with model type TSP: an aprender-tsp solver file, not a tensor container");
  BOOST_CHECK(qf_test::listing(dir.path).empty());
}

BOOST_AUTO_TEST_SUITE_END()
