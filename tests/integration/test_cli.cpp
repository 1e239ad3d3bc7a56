// The quantflow command line end to end, on generated models and on ../shared test data.
#include <signal.h>
#include <sys/wait.h>

#include <map>
#include <nlohmann/json.hpp>

#include "support/child_process.hpp"
#include "support/imatrix_file.hpp"
#include "support/test_support.hpp"

using qf_test::cli;
namespace fs = std::filesystem;
using qf_test::metadata_of;
using qf_test::quote;
using qf_test::tensors_of;

namespace {

const fs::path kReference = qf_test::shared_testdata() / "reference";

size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

BOOST_AUTO_TEST_CASE(help_lists_every_command_and_each_command_has_help) {
  auto r = cli("--help");
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  for (const char* c : {"inspect", "convert", "plugins", "synth"}) {
    BOOST_CHECK_NE(r.out.find(std::string("  ") + c), std::string::npos);
    auto h = cli(std::string(c) + " --help");
    BOOST_CHECK_EQUAL(h.exit_code, 0);
    BOOST_CHECK_EQUAL(h.out.rfind(std::string("usage: quantflow ") + c, 0), 0u);
  }
  auto bad = cli("frobnicate");
  BOOST_CHECK_EQUAL(bad.exit_code, 2);
  BOOST_CHECK_EQUAL(bad.err, "quantflow: error: unknown command 'frobnicate' (see quantflow --help)\n");
  auto bad_option = cli("inspect --no-such-option x");
  BOOST_CHECK_EQUAL(bad_option.exit_code, 2);
  BOOST_CHECK_EQUAL(count_lines(bad_option.err), 1u);
}

BOOST_AUTO_TEST_CASE(plugins_lists_providers_and_failures) {
  auto r = cli("plugins --plugin-dir " + quote(QF_TEST_PLUGIN_DIR));
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK_NE(r.out.find("[container gguf]"), std::string::npos);
  BOOST_CHECK_NE(r.out.find("[container safetensors]"), std::string::npos);
  BOOST_CHECK_NE(r.out.find("[codec q8_0]"), std::string::npos);
  BOOST_CHECK_NE(r.out.find("quantflow-codec-q4_0.so"), std::string::npos);
  BOOST_CHECK_NE(r.out.find("2 plugins failed to load:"), std::string::npos);
  BOOST_CHECK_NE(
      r.out.find("qf_test_wrong_abi.so: plugin ABI version 43 does not match this quantflow's ABI version 6"),
      std::string::npos);
  BOOST_CHECK_NE(r.out.find("qf_test_not_a_plugin.so: not a quantflow plugin"), std::string::npos);

  auto json = nlohmann::json::parse(cli("plugins --json --plugin-dir " + quote(QF_TEST_PLUGIN_DIR)).out);
  BOOST_CHECK_EQUAL(json["failed"].size(), 2u);
  bool found = false;
  for (const auto& p : json["plugins"])
    if (p["codecs"] == nlohmann::json::array({"q4_0"})) found = p["version"].is_string();
  BOOST_CHECK(found);

  // QUANTFLOW_PLUGIN_PATH is searched too.
  auto env = qf_test::run(std::string("QUANTFLOW_PLUGIN_PATH=") + QF_TEST_PLUGIN_DIR + " '" + QF_CLI + "' plugins");
  BOOST_CHECK_NE(env.out.find("2 plugins failed to load:"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(synth_then_inspect_text_and_json) {
  qf_test::TempDir tmp;
  const auto model = tmp / "m.gguf";
  auto s = cli("synth " + quote(model) + " --layers 2 --hidden 64 --ffn 128 --vocab 96 --heads 4 --kv-heads 2");
  BOOST_REQUIRE_MESSAGE(s.exit_code == 0, s.err);
  auto text = cli("inspect " + quote(model));
  BOOST_REQUIRE_EQUAL(text.exit_code, 0);
  BOOST_CHECK_NE(text.out.find("container:  gguf (version 3)"), std::string::npos);
  BOOST_CHECK_NE(text.out.find("general.architecture"), std::string::npos);
  BOOST_CHECK_NE(text.out.find("tensors (21):"), std::string::npos);
  BOOST_CHECK_NE(text.out.find("blk.1.ffn_down.weight"), std::string::npos);
  BOOST_CHECK_NE(text.out.find("totals: 21 tensors"), std::string::npos);

  auto json = nlohmann::json::parse(cli("inspect --json " + quote(model)).out);
  BOOST_CHECK_EQUAL(json["container"], "gguf");
  BOOST_CHECK_EQUAL(json["version"], "3");
  BOOST_CHECK_EQUAL(json["tensors"].size(), 21u);
  BOOST_CHECK_EQUAL(json["tensors"][0]["name"], "token_embd.weight");
  BOOST_CHECK_EQUAL(json["tensors"][0]["shape"], nlohmann::json::array({96, 64}));
  BOOST_CHECK_EQUAL(json["tensors"][0]["bytes"], 96 * 64 * 4);
  BOOST_CHECK_EQUAL(json["totals"]["by_dtype"]["f32"]["tensors"], 21);

  // The same seed gives the same bytes; another seed does not.
  const auto again = tmp / "again.gguf";
  BOOST_REQUIRE_EQUAL(cli("synth " + quote(again) + " --layers 2 --hidden 64 --ffn 128 --vocab 96").exit_code, 0);
  BOOST_CHECK(qf_test::read_bytes(model) == qf_test::read_bytes(again));
}

BOOST_AUTO_TEST_CASE(gguf_copy_is_byte_identical, *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qf_test::TempDir tmp;
  for (const char* name : {"synth-llama-Q4_K_M.gguf", "synth-llama-pure-Q4_0.gguf"}) {
    const auto out = tmp / name;
    auto r = cli("convert -q " + quote(kReference / name) + " " + quote(out));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_CHECK_MESSAGE(qf_test::read_bytes(out) == qf_test::read_bytes(kReference / name), name);
  }
}

BOOST_AUTO_TEST_CASE(gguf_safetensors_gguf_keeps_tensors_and_metadata,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qf_test::TempDir tmp;
  for (const char* name : {"synth-llama.gguf", "synth-llama-Q4_K_M.gguf", "synth-llama-Q8_0.gguf"}) {
    const auto st = tmp / (std::string(name) + ".safetensors");
    const auto back = tmp / (std::string(name) + ".back.gguf");
    auto r1 = cli("convert -q " + quote(kReference / name) + " " + quote(st));
    BOOST_REQUIRE_MESSAGE(r1.exit_code == 0, r1.err);
    auto r2 = cli("convert -q " + quote(st) + " " + quote(back));
    BOOST_REQUIRE_MESSAGE(r2.exit_code == 0, r2.err);
    BOOST_CHECK_MESSAGE(metadata_of(back) == metadata_of(kReference / name), name << ": metadata differs");
    BOOST_CHECK_MESSAGE(tensors_of(back) == tensors_of(kReference / name), name << ": tensors differ");
    BOOST_CHECK_MESSAGE(tensors_of(st) == tensors_of(kReference / name), name << ": safetensors tensors differ");
    // Typed metadata, logical encodings and the tensor order travel in __metadata__, so
    // the round trip gives back the very same file.
    BOOST_CHECK_MESSAGE(qf_test::read_bytes(back) == qf_test::read_bytes(kReference / name), name << ": bytes differ");
  }
}

BOOST_AUTO_TEST_CASE(convert_type_matches_llama_quantize_tensors,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qf_test::TempDir tmp;
  const std::pair<const char*, const char*> cases[] = {{"q8_0", "synth-llama-Q8_0.gguf"},
                                                       {"q4_0", "synth-llama-pure-Q4_0.gguf"}};
  for (const auto& [type, reference] : cases) {
    const auto out = tmp / (std::string(type) + ".gguf");
    auto r =
        cli(std::string("convert -q --type ") + type + " " + quote(kReference / "synth-llama.gguf") + " " + quote(out));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto ours = tensors_of(out);
    const auto theirs = tensors_of(kReference / reference);
    size_t compared = 0;
    for (const auto& [name, t] : theirs) {
      if (t.type != type) continue;
      BOOST_REQUIRE_MESSAGE(ours.count(name), name);
      BOOST_CHECK_EQUAL(ours.at(name).type, type);
      BOOST_CHECK_MESSAGE(ours.at(name).bytes == t.bytes, type << " " << name << " differs from llama-quantize");
      ++compared;
    }
    BOOST_TEST_MESSAGE(type << ": " << compared << " tensors byte-identical to " << reference);
    BOOST_CHECK_GT(compared, 20u);
  }
}

BOOST_AUTO_TEST_CASE(errors_are_one_line_with_exit_code_two) {
  qf_test::TempDir tmp;
  const auto model = tmp / "m.gguf";
  BOOST_REQUIRE_EQUAL(cli("synth " + quote(model) + " --layers 1 --hidden 256 --ffn 96 --vocab 64").exit_code, 0);
  auto missing = cli("inspect " + quote(tmp / "nope.gguf"));
  BOOST_CHECK_EQUAL(missing.exit_code, 2);
  BOOST_CHECK_EQUAL(missing.err, "quantflow: error: " + (tmp / "nope.gguf").string() + ": no such file\n");

  auto same = cli("convert " + quote(model) + " " + quote(model));
  BOOST_CHECK_EQUAL(same.exit_code, 2);
  BOOST_CHECK_NE(same.err.find("quantflow never overwrites an input"), std::string::npos);

  auto unknown = cli("convert --type q9_9 " + quote(model) + " " + quote(tmp / "o.gguf"));
  BOOST_CHECK_EQUAL(unknown.exit_code, 2);
  BOOST_CHECK_EQUAL(unknown.err.rfind("quantflow: error: unknown type 'q9_9' (available: ", 0), 0u);

  auto format = cli("convert " + quote(model) + " " + quote(tmp / "o.bin"));
  BOOST_CHECK_EQUAL(format.exit_code, 2);
  BOOST_CHECK_NE(format.err.find("cannot tell the output format from the file name; use --to"), std::string::npos);

  // ffn_down rows are 96 wide: not a multiple of Q4_K's 256. The error names file, tensor
  // and both numbers, and the existing output is left exactly as it was.
  const auto out = tmp / "keep.gguf";
  qf_test::write_text(out, "precious");
  auto shape = cli("convert --type q4_k " + quote(model) + " " + quote(out));
  BOOST_CHECK_EQUAL(shape.exit_code, 2);
  BOOST_CHECK_EQUAL(shape.err, "quantflow: error: " + model.string() +
                                   ": tensor 'blk.0.ffn_down.weight': row length 96 is not a multiple of q4_k's "
                                   "block size 256 (choose fallback types with --fallback TYPE[,TYPE...])\n");
  auto kept = qf_test::read_bytes(out);
  BOOST_CHECK_EQUAL(std::string(kept.begin(), kept.end()), "precious");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(tmp.path)) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  BOOST_CHECK_EQUAL(files.size(), 2u);  // m.gguf and keep.gguf: no temporary left behind
  BOOST_CHECK_EQUAL(files.front(), "keep.gguf");
}

BOOST_AUTO_TEST_CASE(fallback_type_takes_rows_that_do_not_fit) {
  qf_test::TempDir tmp;
  const auto model = tmp / "m.gguf";
  BOOST_REQUIRE_EQUAL(cli("synth " + quote(model) + " --layers 1 --hidden 256 --ffn 96 --vocab 256").exit_code, 0);
  const auto out = tmp / "o.gguf";
  auto r = cli("convert -q --type q4_k --fallback q8_0 " + quote(model) + " " + quote(out));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto t = tensors_of(out);
  BOOST_CHECK_EQUAL(t.at("blk.0.ffn_down.weight").type, "q8_0");  // rows of 96
  BOOST_CHECK_EQUAL(t.at("blk.0.ffn_up.weight").type, "q4_k");    // rows of 256
  BOOST_CHECK_EQUAL(t.at("blk.0.attn_norm.weight").type, "f32");  // vectors stay
  auto bad = cli("convert --type q4_k --fallback q4_k " + quote(model) + " " + quote(out));
  BOOST_CHECK_EQUAL(bad.exit_code, 2);
  BOOST_CHECK_NE(bad.err.find("row length 96 is not a multiple of q4_k's block size 256"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(real_files_are_read_or_refused_clearly,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  const auto models = qf_test::shared_testdata() / "models";
  auto lfs = cli("inspect " + quote(models / "bad-lfs-pointer.safetensors"));
  BOOST_CHECK_EQUAL(lfs.exit_code, 2);
  BOOST_CHECK_EQUAL(lfs.err, "quantflow: error: " + (models / "bad-lfs-pointer.safetensors").string() +
                                 ": git-lfs pointer, not a model: fetch the real file with `git lfs pull`\n");
  // Each model file's expected outcome: its tensor count, or the exit code and the reason. A
  // file the table does not know fails the test, so that a new file states what it proves.
  struct Outcome {
    size_t tensors;
    int exit_code;
    std::string reason;
  };
  const std::map<std::string, Outcome> expected = {
      {"hf/llama-2-tiny-random/model.safetensors", {12, 0, ""}},
      {"hf/tiny-gpt2/model.safetensors", {16, 0, ""}},
      {"models/aprender-linear-model.safetensors", {2, 0, ""}},
      {"models/aprender-tsp-att48-aco.apr",
       {0, 2, "APR file of version 1 with model type TSP: an aprender-tsp solver file, not a tensor container"}},
      {"models/bad-lfs-pointer.safetensors", {0, 2, "git-lfs pointer, not a model"}},
      {"models/llama-2-tiny-random.gguf", {12, 0, ""}},
      {"models/lora-gpt2-emotion-seqcls/adapter_model.safetensors", {25, 0, ""}},
      {"models/lora-gpt2-tigrinya/adapter_model.safetensors", {72, 0, ""}},
      {"models/mnist_784x2.apr",
       {0, 2, "APR v1 (APRN) holds a serialized aprender model, not a tensor container; re-export it as APR v2"}},
      {"models/stories260K.gguf", {48, 0, ""}},
      {"reference/llama-2-tiny-random-from-hf-F16.gguf", {12, 0, ""}},
      {"reference/synth-llama-Q4_K_M.gguf", {39, 0, ""}},
      {"reference/synth-llama-Q8_0.gguf", {39, 0, ""}},
      {"reference/synth-llama-pure-Q4_0.gguf", {39, 0, ""}},
      {"reference/synth-llama.gguf", {39, 0, ""}},
  };
  size_t seen = 0;
  for (const auto& entry : fs::recursive_directory_iterator(qf_test::shared_testdata())) {
    if (!entry.is_regular_file()) continue;
    const auto ext = entry.path().extension();
    if (ext != ".gguf" && ext != ".safetensors" && ext != ".apr") continue;
    const std::string name = fs::relative(entry.path(), qf_test::shared_testdata()).string();
    const auto it = expected.find(name);
    if (it == expected.end()) {
      BOOST_ERROR(name << " is not in this test's table of expected outcomes");
      continue;
    }
    ++seen;
    const Outcome& want = it->second;
    auto r = cli("inspect --json " + quote(entry.path()));
    BOOST_CHECK_MESSAGE(r.exit_code == want.exit_code, name << " exit " << r.exit_code << ": " << r.err);
    if (want.exit_code == 0 && r.exit_code == 0) {
      BOOST_CHECK_MESSAGE(nlohmann::json::parse(r.out)["tensors"].size() == want.tensors, name);
    } else {
      BOOST_CHECK_EQUAL(r.err.rfind("quantflow: error: " + entry.path().string() + ": " + want.reason, 0), 0u);
      BOOST_CHECK_MESSAGE(count_lines(r.err) == 1, name << ": " << r.err);
    }
  }
  BOOST_CHECK_EQUAL(seen, expected.size());
}

BOOST_AUTO_TEST_CASE(report_measures_each_reencoded_tensor) {
  qf_test::TempDir tmp;
  const auto model = tmp / "m.gguf";
  BOOST_REQUIRE_EQUAL(cli("synth " + quote(model) + " --layers 1 --hidden 256 --ffn 512 --vocab 256").exit_code, 0);
  auto r =
      cli("convert --type q8_0 --report " + quote(tmp / "r.json") + " " + quote(model) + " " + quote(tmp / "o.gguf"));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_CHECK_NE(r.out.find("totals: 12 tensors (3 f32, 9 q8_0)"), std::string::npos);
  auto json = nlohmann::json::parse(qf_test::read_bytes(tmp / "r.json"));
  BOOST_CHECK_EQUAL(json["totals"]["tensors"], 12);
  BOOST_CHECK_EQUAL(json["totals"]["by_target_type"]["q8_0"], 9);
  // 720896 matrix elements (4 bytes each, 34 bytes per 32 as Q8_0) and 3 vectors of 256 floats.
  BOOST_CHECK_EQUAL(json["totals"]["source_bytes"].get<uint64_t>(), 720896u * 4 + 3072u);
  BOOST_CHECK_EQUAL(json["totals"]["target_bytes"].get<uint64_t>(), 720896u / 32 * 34 + 3072u);
  for (const auto& t : json["tensors"]) {
    if (t["target_type"] != "q8_0") {
      BOOST_CHECK(!t.contains("rel_rmse"));  // copies are not measured
      continue;
    }
    // Q8_0 on gaussian weights: about 0.5% relative error (docs/codecs.md).
    BOOST_CHECK_GT(t["rel_rmse"].get<double>(), 0.003);
    BOOST_CHECK_LT(t["rel_rmse"].get<double>(), 0.008);
    BOOST_CHECK_EQUAL(t["non_finite"], 0);
  }
}

BOOST_AUTO_TEST_CASE(convert_writes_a_model_card_and_never_over_its_output) {
  qf_test::TempDir tmp;
  const auto model = tmp / "m.gguf";
  BOOST_REQUIRE_EQUAL(cli("synth " + quote(model) + " --layers 1 --hidden 256 --ffn 512 --vocab 256").exit_code, 0);
  fs::create_directory(tmp / "out");
  auto r = cli("convert -q --type q8_0 --model-card " + quote(model) + " " + quote(tmp / "out" / "o.gguf"));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto card = qf_test::read_bytes(tmp / "out" / "README.md");
  const std::string text(card.begin(), card.end());
  BOOST_CHECK_NE(text.find("| quantization | q8_0 |\n| tensor encodings | f32 (3), q8_0 (9) |\n"), std::string::npos);
  BOOST_CHECK_NE(text.find("Written by quantflow " QUANTFLOW_VERSION " from `m.gguf`.\n"), std::string::npos);

  // An output named README.md would be replaced by its own card: refused before writing.
  auto clash = cli("convert -q --model-card " + quote(model) + " " + quote(tmp / "README.md") + " --to gguf");
  BOOST_CHECK_EQUAL(clash.exit_code, 2);
  BOOST_CHECK_EQUAL(clash.err,
                    "quantflow: error: " + (tmp / "README.md").string() +
                        ": the model card would replace the output itself; name the output something else\n");
  BOOST_CHECK(!fs::exists(tmp / "README.md"));
}

// Most of this model's data sits in five tensors over the transcoder's 256K-element chunk
// (2 to 4 chunks each), so threads really share tensors; q4_k and iq2_xxs (importance matrix required) search per
// block, which is where scheduling-dependent state would show.
BOOST_AUTO_TEST_CASE(output_is_identical_at_any_thread_count) {
  qf_test::TempDir tmp;
  const auto model = tmp / "m.gguf";
  BOOST_REQUIRE_EQUAL(
      cli("synth " + quote(model) + " --layers 1 --hidden 512 --ffn 1536 --vocab 1024 --heads 4 --kv-heads 2")
          .exit_code,
      0);
  size_t chunked = 0;
  for (const auto& [name, t] : tensors_of(model)) chunked += t.bytes.size() / sizeof(float) > 256 * 1024;
  BOOST_REQUIRE_EQUAL(chunked, 5u);  // token_embd, output, ffn_up, ffn_gate, ffn_down
  const auto imatrix = tmp / "m.imatrix.dat";
  qf_test::write_imatrix_for(model, imatrix);
  for (const std::string type : {"q4_k", "iq2_xxs"}) {
    std::vector<uint8_t> first;
    for (int threads : {1, 2, 8}) {
      const auto out = tmp / (type + "-t" + std::to_string(threads) + ".gguf");
      auto r = cli("convert -q --type " + type + " --imatrix " + quote(imatrix) + " --threads " +
                   std::to_string(threads) + " " + quote(model) + " " + quote(out));
      BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      auto bytes = qf_test::read_bytes(out);
      BOOST_TEST_MESSAGE(type << " at " << threads << " threads: " << bytes.size() << " bytes, FNV-1a " << std::hex
                              << qf_test::fnv1a(bytes) << std::dec);
      if (threads == 1) {
        first = std::move(bytes);
        BOOST_CHECK_EQUAL(tensors_of(out).at("blk.0.ffn_down.weight").type, type);
        continue;
      }
      BOOST_CHECK_MESSAGE(bytes == first, type << ": " << threads << " threads gave a different file (FNV-1a "
                                               << std::hex << qf_test::fnv1a(bytes) << " vs " << qf_test::fnv1a(first)
                                               << ")");
    }
  }
}

BOOST_AUTO_TEST_CASE(a_killed_conversion_leaves_no_output) {
  qf_test::TempDir tmp;
  const auto model = tmp / "big.gguf";
  // ~200 MiB of F32: long enough to be interrupted mid-write.
  BOOST_REQUIRE_EQUAL(cli("synth " + quote(model) + " --layers 8 --hidden 1024 --ffn 4096 --vocab 8192").exit_code, 0);
  const auto out_dir = tmp / "out";
  fs::create_directories(out_dir);
  for (int sig : {SIGKILL, SIGTERM}) {
    const auto out = out_dir / ("out" + std::to_string(sig) + ".gguf");
    auto child = qf_test::spawn_cli({"convert", "-q", "--threads", "1", "--type", "q4_k", model.string(), out.string()},
                                    tmp / "err");
    // The signal is sent only once the open output holds data: a write is in progress.
    const auto seen = qf_test::wait_for_write_in_progress(child.pid, out_dir, 1);
    BOOST_CHECK_MESSAGE(seen.has_value(), "no write was seen before the conversion ended");
    ::kill(child.pid, sig);
    BOOST_CHECK_EQUAL(child.wait(), 128 + sig);
    // Neither a partial output nor a temporary: SIGTERM's is removed by the handler and
    // SIGKILL's never had a name (O_TMPFILE).
    BOOST_CHECK_MESSAGE(qf_test::listing(out_dir).empty(), "signal " << sig << " left files behind");
  }
}
