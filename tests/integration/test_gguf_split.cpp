// Split GGUF models as input: the first shard stands for the whole model (llama.cpp's
// behaviour); later shards alone, missing shards and shards that disagree are refused.
#include <algorithm>
#include <string_view>

#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::metadata_of;
using qf_test::quote;
using qf_test::tensors_of;
namespace fs = std::filesystem;
using quantflow::MetaType;
using quantflow::MetaValue;

namespace {

const fs::path kGgufSplit = qf_test::shared_dir() / "tools" / "llama.cpp" / "llama-gguf-split";

qf_test::CommandResult run_ok(const std::string& args) {
  auto r = cli(args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, args << "\n" << r.err << r.out);
  return r;
}

std::string shard_name(const std::string& stem, int number, int count) {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "-%05d-of-%05d.gguf", number, count);
  return stem + suffix;
}

// Splits a synthetic 21-tensor model into 4 GGUF shards with quantflow's own recipe output.
struct QuantflowShards {
  qf_test::TempDir dir;
  fs::path model = dir / "model.gguf";
  QuantflowShards() {
    run_ok("synth " + quote(model) + " --layers 2 --hidden 256 --ffn 512 --vocab 300");
    const fs::path recipe = qf_test::repo_dir() / "configs" / "examples" / "split-output.yaml";
    run_ok("run -q " + quote(recipe) + " --set inputs=" + quote(model) + " --set output.path=" + quote(dir / "q.gguf"));
  }
  fs::path shard(int number) const { return dir / shard_name("q", number, 4); }
};

// The bytes of a GGUF key/value pair: u64 key length, key, u32 type, value.
void append(std::vector<uint8_t>& out, const void* p, size_t n) {
  const size_t at = out.size();
  out.resize(at + n);
  std::memcpy(out.data() + at, p, n);
}

template <typename T>
std::vector<uint8_t> kv_bytes(std::string_view key, uint32_t type, T value) {
  std::vector<uint8_t> out;
  const uint64_t n = key.size();
  append(out, &n, 8);
  append(out, key.data(), key.size());
  append(out, &type, 4);
  append(out, &value, sizeof(T));
  return out;
}

// Rewrites the value of one split key in a shard file, in place.
template <typename T>
void patch_key(const fs::path& file, std::string_view key, uint32_t type, T from, T to) {
  auto bytes = qf_test::read_bytes(file);
  const auto want = kv_bytes(key, type, from);
  auto it = std::search(bytes.begin(), bytes.end(), want.begin(), want.end());
  BOOST_REQUIRE_MESSAGE(it != bytes.end(), key << " = " << +from << " not found in " << file);
  const auto repl = kv_bytes(key, type, to);
  std::copy(repl.begin(), repl.end(), it);
  qf_test::write_bytes(file, bytes.data(), bytes.size());
}

constexpr uint32_t kU16 = 2, kI32 = 5;

// Asserts the exit code 2 and the one error line.
void expect_error(const std::string& args, const std::string& line) {
  auto r = cli(args);
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + line + "\n");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(quantflow_shards)

BOOST_AUTO_TEST_CASE(shards_carry_the_split_keys) {
  // The writer's layout (gguf.md §10), checked in the raw bytes since a reader now merges.
  QuantflowShards s;
  for (int i = 1; i <= 4; ++i) {
    const auto bytes = qf_test::read_bytes(s.shard(i));
    for (const auto& kv :
         {kv_bytes<uint16_t>("split.no", kU16, static_cast<uint16_t>(i - 1)),
          kv_bytes<uint16_t>("split.count", kU16, 4), kv_bytes<int32_t>("split.tensors.count", kI32, 21)})
      BOOST_CHECK(std::search(bytes.begin(), bytes.end(), kv.begin(), kv.end()) != bytes.end());
  }
}

BOOST_AUTO_TEST_CASE(first_shard_reads_the_whole_model) {
  QuantflowShards s;
  const auto merged = tensors_of(s.shard(1));
  BOOST_CHECK_EQUAL(merged.size(), 21u);
  const auto source = tensors_of(s.model);
  for (const auto& [name, t] : source) BOOST_CHECK_MESSAGE(merged.count(name) == 1, name);
  BOOST_CHECK(merged.at("output_norm.weight").bytes == source.at("output_norm.weight").bytes);
  const auto m = metadata_of(s.shard(1));
  BOOST_CHECK(!m.contains("split.no") && !m.contains("split.count") && !m.contains("split.tensors.count"));
  BOOST_CHECK(*m.find("general.architecture") == MetaValue::make_string("llama"));

  auto info = run_ok("inspect " + quote(s.shard(1)) + " --json");
  BOOST_CHECK_EQUAL(nlohmann::json::parse(info.out)["properties"]["shards"], 4);

  // convert and quantize see every shard's tensors and write one file without split keys.
  const fs::path copy = s.dir / "copy.gguf", q = s.dir / "q8.gguf";
  run_ok("convert -q " + quote(s.shard(1)) + " " + quote(copy));
  BOOST_CHECK(tensors_of(copy) == merged);
  BOOST_CHECK(metadata_of(copy) == m);
  run_ok("quantize " + quote(s.shard(1)) + " " + quote(q) + " Q8_0");
  const auto quantized = tensors_of(q);
  BOOST_CHECK_EQUAL(quantized.size(), 21u);
  BOOST_CHECK(!metadata_of(q).contains("split.count"));
}

BOOST_AUTO_TEST_CASE(later_shard_alone_is_refused) {
  QuantflowShards s;
  expect_error(
      "inspect " + quote(s.shard(3)),
      s.shard(3).string() + ": this is shard 3 of 4 of a split model; give the first shard, q-00001-of-00004.gguf");
  expect_error(
      "convert " + quote(s.shard(2)) + " " + quote(s.dir / "out.gguf"),
      s.shard(2).string() + ": this is shard 2 of 4 of a split model; give the first shard, q-00001-of-00004.gguf");
  BOOST_CHECK(!fs::exists(s.dir / "out.gguf"));
}

BOOST_AUTO_TEST_CASE(missing_shard_is_refused) {
  QuantflowShards s;
  fs::remove(s.shard(3));
  expect_error("convert " + quote(s.shard(1)) + " " + quote(s.dir / "out.gguf"),
               s.shard(3).string() + ": shard 3 of 4 of the split model is missing");
  BOOST_CHECK(!fs::exists(s.dir / "out.gguf"));
}

BOOST_AUTO_TEST_CASE(first_shard_renamed_is_refused) {
  QuantflowShards s;
  const fs::path renamed = s.dir / "renamed.gguf";
  fs::rename(s.shard(1), renamed);
  expect_error("inspect " + quote(renamed),
               renamed.string() +
                   ": first shard of a 4-file split model, but the name does not end in '-00001-of-00004.gguf', so "
                   "the other shards cannot be found");
}

BOOST_AUTO_TEST_CASE(mismatched_shards_are_refused) {
  {
    QuantflowShards s;
    patch_key<uint16_t>(s.shard(2), "split.count", kU16, 4, 5);
    expect_error("inspect " + quote(s.shard(1)),
                 s.shard(2).string() + ": split.count is 5, but the first shard says 4");
  }
  {
    QuantflowShards s;
    patch_key<uint16_t>(s.shard(4), "split.no", kU16, 3, 2);
    expect_error("inspect " + quote(s.shard(1)),
                 s.shard(4).string() + ": split.no is 2, but the file name says shard 4 (split.no 3)");
  }
  {
    QuantflowShards s;
    patch_key<int32_t>(s.shard(3), "split.tensors.count", kI32, 21, 20);
    expect_error("inspect " + quote(s.shard(1)),
                 s.shard(3).string() + ": split.tensors.count is 20, but the first shard says 21");
  }
  {
    // Every shard agrees on a total the shards do not hold.
    QuantflowShards s;
    for (int i = 1; i <= 4; ++i) patch_key<int32_t>(s.shard(i), "split.tensors.count", kI32, 21, 22);
    expect_error("inspect " + quote(s.shard(1)),
                 s.shard(1).string() + ": split.tensors.count is 22, but the 4 shards hold 21 tensors");
  }
  {
    // Shard 2's tensors again as shard 3: the same names twice.
    QuantflowShards s;
    fs::copy_file(s.shard(2), s.shard(3), fs::copy_options::overwrite_existing);
    patch_key<uint16_t>(s.shard(3), "split.no", kU16, 1, 2);
    auto r = cli("inspect " + quote(s.shard(1)));
    BOOST_CHECK_EQUAL(r.exit_code, 2);
    BOOST_CHECK(r.err.starts_with("quantflow: error: " + s.shard(3).string() + ": tensor '"));
    BOOST_CHECK(r.err.ends_with("': tensor name also used in " + s.shard(2).string() + "\n"));
    BOOST_CHECK_EQUAL(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// Shards made by llama.cpp's own gguf-split from a real model.
BOOST_AUTO_TEST_SUITE(llama_cpp_shards, *boost::unit_test::precondition(qf_test::shared_data_available()))

const fs::path kStories = qf_test::shared_testdata() / "models" / "stories260K.gguf";

void gguf_split(const std::string& options, const fs::path& out_prefix) {
  auto r = qf_test::run(quote(kGgufSplit) + " --split " + options + " " + quote(kStories) + " " + quote(out_prefix));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err << r.out);
}

BOOST_AUTO_TEST_CASE(convert_of_first_shard_is_the_original_file) {
  qf_test::TempDir dir;
  gguf_split("--split-max-tensors 10", dir / "stories");
  const fs::path first = dir / shard_name("stories", 1, 5);
  BOOST_REQUIRE(fs::exists(first) && fs::exists(dir / shard_name("stories", 5, 5)));
  BOOST_CHECK_EQUAL(tensors_of(first).size(), 48u);
  BOOST_CHECK(tensors_of(first) == tensors_of(kStories));
  BOOST_CHECK(metadata_of(first) == metadata_of(kStories));
  // gguf-split copies the metadata in order and adds only split keys; dropping them and
  // writing one file gives back the original bytes.
  const fs::path copy = dir / "copy.gguf";
  run_ok("convert -q " + quote(first) + " " + quote(copy));
  BOOST_CHECK(qf_test::read_bytes(copy) == qf_test::read_bytes(kStories));
}

BOOST_AUTO_TEST_CASE(quantize_of_first_shard_matches_the_whole_file) {
  qf_test::TempDir dir;
  gguf_split("--split-max-tensors 10 --no-tensor-first-split", dir / "stories");
  const fs::path first = dir / shard_name("stories", 1, 6);
  BOOST_REQUIRE(fs::exists(first));
  const fs::path from_shards = dir / "a.gguf", from_whole = dir / "b.gguf";
  run_ok("quantize " + quote(first) + " " + quote(from_shards) + " Q4_K_M");
  run_ok("quantize " + quote(kStories) + " " + quote(from_whole) + " Q4_K_M");
  BOOST_CHECK_EQUAL(tensors_of(from_shards).size(), 48u);
  BOOST_CHECK(qf_test::read_bytes(from_shards) == qf_test::read_bytes(from_whole));
}

BOOST_AUTO_TEST_SUITE_END()
