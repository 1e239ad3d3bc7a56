// `quantflow run` / `estimate` end to end on generated models, the example recipes and the
// shared HF checkpoint; every recipe under configs/ is checked against docs/recipe.schema.json.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <fmt/format.h>
#include <sstream>

#include "support/json_schema.hpp"
#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::metadata_of;
using qf_test::quote;
using qf_test::tensors_of;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using qf_test::check_schema;
using qf_test::yaml_to_json;

const fs::path kExamples = qf_test::repo_dir() / "configs" / "examples";

// A synthetic llama-shaped model in `dir`.
fs::path synth(const qf_test::TempDir& dir, const std::string& name, const std::string& shape) {
  return qf_test::synth_model(dir / name, shape);
}

std::string example(const std::string& name) { return quote(kExamples / name); }

qf_test::CommandResult run_ok(const std::string& args) {
  auto r = cli(args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, args << "\n" << r.err << r.out);
  return r;
}

uint64_t estimated_bytes(const std::string& args) {
  auto r = run_ok("estimate " + args + " --json");
  std::istringstream lines(r.out);
  std::string line, last;
  while (std::getline(lines, line))
    if (!line.empty()) last = line;
  return json::parse(last)["bytes"].get<uint64_t>();
}

json recipe_schema() {
  std::ifstream in(qf_test::repo_dir() / "docs" / "recipe.schema.json");
  return json::parse(in);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_recipe_under_configs_matches_the_schema) {
  const json schema = recipe_schema();
  size_t checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(qf_test::repo_dir() / "configs")) {
    // Presets have their own format (docs/presets.md); everything else under configs/ is a recipe.
    // Batch files (batch-*.yaml) have theirs (docs/batch.schema.json, test_batch_files.cpp).
    if (entry.path().extension() != ".yaml" || entry.path().parent_path().filename() == "presets" ||
        entry.path().filename().string().starts_with("batch-"))
      continue;
    const json recipe = yaml_to_json(YAML::LoadFile(entry.path().string()));
    const std::string error = check_schema(schema, recipe, schema, "$");
    BOOST_CHECK_MESSAGE(error.empty(), entry.path().string() << ": " << error);
    ++checked;
  }
  BOOST_CHECK_GE(checked, 8u);
  // The checker itself rejects what it should.
  BOOST_CHECK(!check_schema(schema, yaml_to_json(YAML::Load("inputs: a\noutput: b\nbogus: 1")), schema, "$").empty());
  BOOST_CHECK(!check_schema(schema, yaml_to_json(YAML::Load("output: b")), schema, "$").empty());
  BOOST_CHECK(!check_schema(schema, yaml_to_json(YAML::Load("inputs: a\noutput: b\nmode: most")), schema, "$").empty());
  BOOST_CHECK(!check_schema(schema, yaml_to_json(YAML::Load("inputs: a\noutput: b\ntensors: [{glob: x}]")), schema, "$")
                   .empty());
}

BOOST_AUTO_TEST_CASE(rules_example_types_dry_run_estimate_and_json_events) {
  qf_test::TempDir dir;
  const fs::path model = synth(dir, "model.gguf", "--layers 3 --hidden 256 --ffn 512 --vocab 300");
  const fs::path out = dir / "out.gguf";
  const std::string args =
      example("quantize-with-rules.yaml") + " --set inputs=" + quote(model) + " --set output.path=" + quote(out);

  auto dry = run_ok("run " + args + " --dry-run");
  BOOST_CHECK(!fs::exists(out));
  BOOST_CHECK_NE(dry.out.find("  blk.0.ffn_down.weight -> blk.0.ffn_down.weight  f32 -> q6_k  107520 bytes\n"),
                 std::string::npos);
  BOOST_CHECK_NE(dry.out.find("  blk.0.attn_norm.weight -> blk.0.attn_norm.weight  f32 -> f32  1024 bytes\n"),
                 std::string::npos);
  BOOST_CHECK_NE(dry.out.find("tensors: 30 (22 re-encoded, 0 skipped)\n"), std::string::npos);
  BOOST_CHECK_NE(dry.out.find("memory estimate: "), std::string::npos);
  const uint64_t estimate = estimated_bytes(args);
  BOOST_CHECK_NE(dry.out.find("output size: " + std::to_string(estimate) + " bytes"), std::string::npos);

  auto run = run_ok("run " + args + " --json");
  std::istringstream lines(run.out);
  std::string line;
  size_t tensor_events = 0;
  json done;
  while (std::getline(lines, line)) {
    const json event = json::parse(line);
    if (event["event"] == "tensor") {
      BOOST_CHECK_EQUAL(event["index"].get<size_t>(), tensor_events);
      BOOST_CHECK_EQUAL(event["total"].get<size_t>(), 30u);
      BOOST_CHECK(event["name"].is_string() && event["bytes"].is_number());
      ++tensor_events;
    } else if (event["event"] == "done") {
      done = event;
    }
  }
  BOOST_CHECK_EQUAL(tensor_events, 30u);
  BOOST_REQUIRE(done.is_object());
  BOOST_CHECK_EQUAL(done["bytes"].get<uint64_t>(), fs::file_size(out));
  BOOST_CHECK_EQUAL(estimate, fs::file_size(out));

  auto t = tensors_of(out);
  BOOST_CHECK_EQUAL(t["blk.0.ffn_down.weight"].type, "q6_k");
  BOOST_CHECK_EQUAL(t["blk.1.ffn_down.weight"].type, "q6_k");
  BOOST_CHECK_EQUAL(t["blk.2.ffn_down.weight"].type, "q8_0");
  BOOST_CHECK_EQUAL(t["blk.2.attn_v.weight"].type, "f16");
  BOOST_CHECK_EQUAL(t["blk.2.attn_q.weight"].type, "q8_0");
  BOOST_CHECK_EQUAL(t["blk.2.attn_norm.weight"].type, "f32");
  BOOST_CHECK_EQUAL(t["token_embd.weight"].type, "f32");
  BOOST_CHECK_EQUAL(t["output.weight"].type, "q8_0");
  BOOST_CHECK_EQUAL(t["output.weight"].bytes.size(), 300u * 256 / 32 * 34);
  const auto source = tensors_of(model);
  BOOST_CHECK(t["token_embd.weight"].bytes == source.at("token_embd.weight").bytes);
}

BOOST_AUTO_TEST_CASE(allowlist_and_fallback_examples) {
  qf_test::TempDir dir;
  const fs::path model =
      synth(dir, "model.gguf", "--layers 2 --hidden 160 --heads 5 --kv-heads 1 --ffn 512 --vocab 64");
  const fs::path allow = dir / "allow.gguf", fallback = dir / "fallback.gguf";
  run_ok("run -q " + example("allowlist.yaml") + " --set inputs=" + quote(model) +
         " --set output.path=" + quote(allow));
  auto a = tensors_of(allow);
  BOOST_CHECK_EQUAL(a["blk.0.ffn_up.weight"].type, "q4_0");
  BOOST_CHECK_EQUAL(a["blk.1.ffn_down.weight"].type, "q4_0");
  BOOST_CHECK_EQUAL(a["blk.0.attn_q.weight"].type, "f32");
  BOOST_CHECK_EQUAL(a["output.weight"].type, "f32");

  run_ok("run -q " + example("fallback.yaml") + " --set inputs=" + quote(model) +
         " --set output.path=" + quote(fallback));
  auto f = tensors_of(fallback);
  BOOST_CHECK_EQUAL(f["blk.0.ffn_down.weight"].type, "q4_k");  // rows of 512
  BOOST_CHECK_EQUAL(f["blk.0.ffn_up.weight"].type, "q5_0");    // rows of 160
  BOOST_CHECK_EQUAL(f["blk.0.attn_q.weight"].type, "q5_0");
  BOOST_CHECK_EQUAL(f["blk.0.attn_norm.weight"].type, "f32");

  // Without a fallback the same recipe is refused before anything is written, at the rule.
  auto refused = cli("run " + example("fallback.yaml") + " --set inputs=" + quote(model) +
                     " --set output.path=" + quote(dir / "x.gguf") + " --set fallback=error --set tensors=[]");
  BOOST_CHECK_EQUAL(refused.exit_code, 2);
  BOOST_CHECK_NE(refused.err.find(kExamples.string() + "/fallback.yaml:6:15: tensor 'blk.0.attn_q.weight': row length "
                                                       "160 is not a multiple of q4_k's block size 256"),
                 std::string::npos);
  BOOST_CHECK(!fs::exists(dir / "x.gguf"));
}

BOOST_AUTO_TEST_CASE(metadata_edits_example) {
  qf_test::TempDir dir;
  const fs::path model = synth(dir, "model.gguf", "--layers 1 --hidden 64 --ffn 128 --vocab 32");
  const fs::path out = dir / "edited.gguf";
  run_ok("run -q " + example("metadata-edits.yaml") + " --set inputs=[" + model.string() +
         "] --set output.path=" + quote(out));
  const auto m = metadata_of(out);
  BOOST_CHECK(*m.find("general.name") == quantflow::MetaValue::make_string("edited-model"));
  BOOST_CHECK(*m.find("general.source.name") == quantflow::MetaValue::make_string("quantflow-synthetic"));
  BOOST_CHECK(*m.find("example.layers") == quantflow::MetaValue::make_unsigned(quantflow::MetaType::u16, 2));
  BOOST_CHECK(*m.find("example.scale") == quantflow::MetaValue::make_f64(0.125));
  BOOST_CHECK(*m.find("example.enabled") == quantflow::MetaValue::make_bool(true));
  BOOST_CHECK(m.find("example.ids")->element_type == quantflow::MetaType::i32);
  BOOST_CHECK(tensors_of(out).size() == tensors_of(model).size());
}

BOOST_AUTO_TEST_CASE(split_outputs_read_back) {
  qf_test::TempDir dir;
  const fs::path model = synth(dir, "model.gguf", "--layers 2 --hidden 256 --ffn 512 --vocab 300");
  const auto source = tensors_of(model);
  const std::string base = example("split-output.yaml") + " --set inputs=" + quote(model);

  const std::string gguf_args = base + " --set output.path=" + quote(dir / "q.gguf");
  const uint64_t estimate = estimated_bytes(gguf_args);
  run_ok("run -q " + gguf_args);
  uint64_t total = 0;
  for (int i = 1; i <= 4; ++i) {
    const fs::path shard = dir / ("q-0000" + std::to_string(i) + "-of-00004.gguf");
    BOOST_REQUIRE_MESSAGE(fs::exists(shard), shard);
    total += fs::file_size(shard);
  }
  // The first shard reads back as the whole model (the split keys: test_gguf_split.cpp).
  const fs::path first = dir / "q-00001-of-00004.gguf";
  BOOST_CHECK_EQUAL(tensors_of(first).size(), 21u);
  BOOST_CHECK(metadata_of(first).contains("general.name"));
  BOOST_CHECK_EQUAL(total, estimate);

  const std::string st_args = base + " --set output.path=" + quote(dir / "q.safetensors");
  const uint64_t st_estimate = estimated_bytes(st_args);
  run_ok("run -q " + st_args);
  const fs::path index = dir / "q.safetensors.index.json";
  BOOST_REQUIRE(fs::exists(index));
  uint64_t st_total = fs::file_size(index);
  for (const auto& e : fs::directory_iterator(dir.path))
    if (e.path().filename().string().rfind("q-", 0) == 0 && e.path().extension() == ".safetensors")
      st_total += fs::file_size(e.path());
  BOOST_CHECK_EQUAL(st_total, st_estimate);
  const auto merged = tensors_of(index);
  BOOST_CHECK_EQUAL(merged.size(), 21u);
  BOOST_CHECK_EQUAL(merged.at("blk.0.attn_q.weight").type, "q8_0");
  BOOST_CHECK(merged.at("output_norm.weight").bytes == source.at("output_norm.weight").bytes);
}

BOOST_AUTO_TEST_CASE(report_and_model_card_example) {
  qf_test::TempDir dir;
  const fs::path model = synth(dir, "model.gguf", "--layers 2 --hidden 128 --ffn 256 --vocab 64");
  const fs::path out_dir = dir / "published";
  const fs::path out = out_dir / "model-q4_0.gguf", report_path = dir / "report.json";
  fs::create_directory(out_dir);
  auto run = run_ok("run " + example("report-and-model-card.yaml") + " --set inputs=" + quote(model) +
                    " --set output.path=" + quote(out) + " --set output.report=" + quote(report_path));
  BOOST_CHECK_NE(run.out.find("totals: 21 tensors (7 f32, 14 q4_0)"), std::string::npos);
  BOOST_CHECK_NE(run.out.find("model card: " + (out_dir / "README.md").string()), std::string::npos);

  std::ifstream report_file(report_path);
  const json report = json::parse(report_file);
  BOOST_REQUIRE_EQUAL(report["tensors"].size(), 21u);
  BOOST_CHECK_EQUAL(report["totals"]["by_target_type"]["q4_0"].get<size_t>(), 14u);
  BOOST_CHECK_EQUAL(report["totals"]["by_target_type"]["f32"].get<size_t>(), 7u);
  uint64_t target_bytes = 0;
  for (const auto& t : report["tensors"]) {
    target_bytes += t["target_bytes"].get<uint64_t>();
    if (t["target_type"] == "q4_0") {
      // Gaussian weights: Q4_0's measured relative RMSE is 0.082 (docs/codecs.md).
      BOOST_CHECK_MESSAGE(t["rel_rmse"].get<double>() > 0.05 && t["rel_rmse"].get<double>() < 0.12, t.dump());
      BOOST_CHECK_GT(t["max_abs_error"].get<double>(), 0.0);
    } else {
      BOOST_CHECK(!t.contains("rel_rmse"));  // copied tensors are not measured
    }
  }
  BOOST_CHECK_EQUAL(report["totals"]["target_bytes"].get<uint64_t>(), target_bytes);
  const double ratio = report["totals"]["compression_ratio"].get<double>();
  BOOST_CHECK_CLOSE(
      ratio, report["totals"]["source_bytes"].get<double>() / report["totals"]["target_bytes"].get<double>(), 1e-9);

  std::ifstream card_file(out_dir / "README.md");
  const std::string card((std::istreambuf_iterator<char>(card_file)), std::istreambuf_iterator<char>());
  BOOST_CHECK_EQUAL(card.substr(0, 48), "---\ntags:\n- quantflow\n- gguf\n- llama\n- q4_0\n---\n");
  BOOST_CHECK_NE(card.find("| architecture | llama |\n"), std::string::npos);
  BOOST_CHECK_NE(card.find("| quantization | q4_0 |\n"), std::string::npos);
  BOOST_CHECK_NE(card.find("| tensor encodings | f32 (7), q4_0 (14) |\n"), std::string::npos);
  BOOST_CHECK_NE(card.find(fmt::format("({} bytes) |\n", fs::file_size(out))), std::string::npos);
  BOOST_CHECK_NE(card.find("| tensors | 21 |\n"), std::string::npos);
  BOOST_CHECK_NE(card.find("| container | gguf v3 |\n"), std::string::npos);
  uint64_t parameters = 0;
  auto reader = qf_test::plugins().open_reader(out.string());
  BOOST_REQUIRE(reader.ok());
  for (const auto& t : (*reader)->tensors()) parameters += quantflow::element_count(t.shape);
  BOOST_CHECK_NE(card.find(fmt::format("({}) |\n", parameters)), std::string::npos);

  // --json carries the same report in its final event.
  auto json_run = run_ok("run " + example("report-and-model-card.yaml") + " --json --set inputs=" + quote(model) +
                         " --set output.path=" + quote(dir / "again.gguf") + " --set output.model_card=false" +
                         " --set output.report=" + quote(dir / "again.json"));
  const std::string last = json_run.out.substr(json_run.out.rfind('\n', json_run.out.size() - 2) + 1);
  const json done = json::parse(last);
  BOOST_CHECK_EQUAL(done["event"], "done");
  BOOST_CHECK_EQUAL(done["report"]["tensors"].size(), 21u);
  BOOST_CHECK(done["model_card"].is_null());
  BOOST_CHECK(!fs::exists(dir / "README.md"));

  // The card never replaces an input, and the report path may not be the output.
  auto clash = cli("run " + example("report-and-model-card.yaml") + " --set inputs=" + quote(model) +
                   " --set output.path=" + quote(dir / "x.gguf") + " --set output.report=" + quote(dir / "x.gguf"));
  BOOST_CHECK_EQUAL(clash.exit_code, 2);
  BOOST_CHECK_NE(clash.err.find("two output files are both '" + (dir / "x.gguf").string() + "'"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(merged_inputs_and_collisions) {
  qf_test::TempDir dir;
  const fs::path model = synth(dir, "model.gguf", "--layers 2 --hidden 64 --ffn 128 --vocab 32");
  // Split the model by layer with recipes, then merge the parts back.
  const fs::path a = dir / "part-a.gguf", b = dir / "part-b.safetensors", merged = dir / "merged.gguf";
  run_ok("run -q " + example("allowlist.yaml") + " --set inputs=" + quote(model) + " --set output.path=" + quote(a) +
         " --set 'tensors=[{layers: 1, type: skip}]'");
  run_ok("run -q " + example("allowlist.yaml") + " --set inputs=" + quote(model) + " --set output.path=" + quote(b) +
         " --set 'tensors=[{layers: 1, type: keep}, {type: skip}]'");
  run_ok("run -q " + example("merge-inputs.yaml") + " --set 'inputs=[" + a.string() + ", " + b.string() +
         "]' --set output.path=" + quote(merged));
  const auto source = tensors_of(model), out = tensors_of(merged);
  BOOST_CHECK_EQUAL(out.size(), source.size());
  for (const auto& [name, t] : source) {
    BOOST_REQUIRE_MESSAGE(out.count(name), name);
    if (name != "output.weight") BOOST_CHECK_MESSAGE(out.at(name).bytes == t.bytes, name);
  }
  BOOST_CHECK_EQUAL(out.at("output.weight").type, "q8_0");

  auto collide = cli("run " + example("merge-inputs.yaml") + " --set 'inputs=[" + a.string() + ", " + model.string() +
                     "]' --set output.path=" + quote(dir / "c.gguf"));
  BOOST_CHECK_EQUAL(collide.exit_code, 2);
  BOOST_CHECK_NE(collide.err.find("--set inputs=[" + a.string() + ", " + model.string() +
                                  "]:1:" + std::to_string(a.string().size() + 4) + ": tensor 'token_embd.weight' of " +
                                  model.string() + " is also in " + a.string()),
                 std::string::npos);
  BOOST_CHECK_EQUAL(std::count(collide.err.begin(), collide.err.end(), '\n'), 1);
}

BOOST_AUTO_TEST_CASE(preset_example) {
  qf_test::TempDir dir;
  const fs::path model = synth(dir, "model.gguf", "--layers 2 --hidden 256 --ffn 512 --vocab 300");
  const fs::path out = dir / "p.gguf";
  const std::string args =
      example("preset-q4_k_m.yaml") + " --set inputs=" + quote(model) + " --set output.path=" + quote(out);
  const uint64_t estimate = estimated_bytes(args);
  run_ok("run -q " + args);
  BOOST_CHECK_EQUAL(fs::file_size(out), estimate);
  auto t = tensors_of(out);
  BOOST_CHECK_EQUAL(t["token_embd.weight"].type, "q8_0");  // the recipe's rule beats the preset
  BOOST_CHECK_EQUAL(t["blk.0.attn_q.weight"].type, "q4_k");
  BOOST_CHECK_EQUAL(t["blk.0.attn_norm.weight"].type, "f32");
}

BOOST_AUTO_TEST_CASE(hf_checkpoint_to_gguf_matches_llama_cpp_byte_for_byte,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qf_test::TempDir dir;
  const fs::path out = dir / "hf.gguf";
  run_ok("run -q " + example("hf-to-gguf-f16.yaml") + " --set output.path=" + quote(out));
  const auto ours = tensors_of(out);
  const auto reference = tensors_of(qf_test::shared_testdata() / "reference" / "llama-2-tiny-random-from-hf-F16.gguf");
  BOOST_CHECK_EQUAL(ours.size(), reference.size());
  for (const auto& [name, t] : reference) {
    BOOST_REQUIRE_MESSAGE(ours.count(name), "missing " << name);
    BOOST_CHECK_EQUAL(ours.at(name).type, t.type);
    BOOST_CHECK_MESSAGE(ours.at(name).bytes == t.bytes, name << " differs from llama.cpp's conversion");
  }
}

BOOST_AUTO_TEST_CASE(errors_are_one_line_with_positions) {
  qf_test::TempDir dir;
  const fs::path model = synth(dir, "model.gguf", "--layers 1 --hidden 64 --ffn 128 --vocab 32");
  const fs::path recipe = dir / "bad.yaml";
  qf_test::write_text(recipe, "inputs: model.gguf\noutput:\n  path: out.gguf\ndefault_type: q3_z\n");
  auto r = cli("run " + quote(recipe));
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err.rfind("quantflow: error: " + recipe.string() + ":4:15: unknown encoding 'q3_z'", 0), 0u);
  BOOST_CHECK_EQUAL(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  auto e = cli("estimate " + quote(recipe) + " --set default_type=q8_0 --set 'tensors=[{name: nope, type: skip}]'");
  BOOST_CHECK_EQUAL(e.exit_code, 0);
  BOOST_CHECK_NE(e.err.find("warning: --set tensors=[{name: nope, type: skip}]:1:2: this rule matches no tensor"),
                 std::string::npos);
  auto help = cli("run --help");
  BOOST_CHECK_EQUAL(help.out.rfind("usage: quantflow run", 0), 0u);
}
