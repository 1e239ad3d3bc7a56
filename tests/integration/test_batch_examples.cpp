// `quantflow batch` per-shard tasks and the example batch files of configs/examples
// (docs/build-farm.md): shards byte-identical to one `quantflow run`, the examples' outputs.
#include "support/batch_farm.hpp"
#include "support/hf_checkpoints.hpp"

namespace fs = std::filesystem;
using qf_batch::Farm;
using qf_batch::json;
using qf_batch::summary;
using qf_test::cli;
using qf_test::quote;

namespace {

using Names = std::vector<std::string>;

fs::path example(const std::string& name) { return qf_test::repo_dir() / "configs" / "examples" / name; }

// The example batch file with the test's models and output folder.
qf_test::CommandResult run_example(const std::string& name, const fs::path& model, const fs::path& out,
                                   const std::string& args = "") {
  return cli("batch " + quote(example(name)) + " --set " + quote("models=[" + model.string() + "]") + " --set " +
             quote("output_dir=" + out.string()) + " " + args);
}

}  // namespace

BOOST_AUTO_TEST_CASE(shard_tasks_write_the_shards_of_one_run_byte_for_byte) {
  Farm farm;
  const fs::path model = farm.synth("a.gguf", 1);
  farm.write(R"(name: farm
output_dir: out
models: [a.gguf]
jobs:
  - name: shards
    recipe: {default_type: f16, output: {split_max_tensors: 6}}
    shard_tasks: true
)");
  // The single run of the same recipe, elsewhere.
  const fs::path ref = farm.tmp / "ref";
  fs::create_directories(ref);
  qf_test::write_text(ref / "r.yaml", "inputs: " + model.string() +
                                          "\noutput: {path: " + (ref / "a-shards.gguf").string() +
                                          ", split_max_tensors: 6}\ndefault_type: f16\n");
  auto single = cli("run -q " + quote(ref / "r.yaml"));
  BOOST_REQUIRE_MESSAGE(single.exit_code == 0, single.err);
  Names shards;
  for (const auto& name : qf_test::listing(ref))
    if (name.starts_with("a-shards-")) shards.push_back(name);
  BOOST_REQUIRE_GE(shards.size(), 2u);
  const size_t count = shards.size();

  auto r = farm.batch();
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(qf_batch::summary_line(r.out) == summary(count, count, 0, 0));
  Names expected = shards;
  expected.insert(expected.end(), {".quantflow-batch-farm", "farm.manifest.json"});
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(qf_test::listing(farm.out) == expected, boost::test_tools::per_element());
  const json m = farm.manifest();
  BOOST_REQUIRE_EQUAL(m.at("tasks").size(), count);
  for (size_t i = 0; i < count; ++i) {
    const std::string id = "a/shards#" + std::to_string(i + 1);
    BOOST_TEST_CONTEXT(id) {
      BOOST_TEST(qf_test::read_bytes(farm.out / shards[i]) == qf_test::read_bytes(ref / shards[i]));
      const json t = qf_batch::task_entry(m, id);
      BOOST_TEST(t.at("index") == i);
      BOOST_TEST(t.at("status") == "done");
      BOOST_TEST(t.at("output") == (farm.out / shards[i]).string());
      BOOST_TEST(t.at("shard") == json({{"index", i + 1}, {"count", count}}));
      BOOST_REQUIRE_EQUAL(t.at("outputs").size(), 1u);
      BOOST_TEST(t.at("outputs")[0].at("sha256") == qf_batch::sha256sum(farm.out / shards[i]));
      BOOST_TEST(t.at("estimated_bytes") == fs::file_size(farm.out / shards[i]));
    }
  }
  // One shard deleted: only its task reruns.
  fs::remove(farm.out / shards[1]);
  auto again = farm.batch();
  BOOST_REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  BOOST_TEST(qf_batch::summary_line(again.out) == summary(1, 1, 0, count - 1));
  BOOST_TEST(qf_test::read_bytes(farm.out / shards[1]) == qf_test::read_bytes(ref / shards[1]));
}

// A preset or type job's recipe gets `output: {path: PATH}`, so that `set:
// {output.split_max_tensors: N}` (docs/build-farm.md lists `output.split_size` among the
// `jobs[].set` keys) splits the output (it once failed: "the recipe value above it is not a map").
BOOST_AUTO_TEST_CASE(job_set_may_split_a_preset_jobs_output) {
  Farm farm;
  const fs::path model = farm.synth("a.gguf", 1);
  farm.write(
      "name: farm\noutput_dir: out\nmodels: [a.gguf]\njobs:\n"
      "  - {preset: Q8_0, set: {output.split_max_tensors: 6}}\n"
      "  - {name: q8-shards, preset: Q8_0, shard_tasks: true, set: {output.split_max_tensors: 6}}\n");
  const fs::path ref = farm.tmp / "ref";
  fs::create_directories(ref);
  auto q = cli("quantize -q " + quote(model) + " " + quote(ref / "a-Q8_0.gguf") + " Q8_0 --split-max-tensors 6");
  BOOST_REQUIRE_MESSAGE(q.exit_code == 0, q.err);
  const Names shards = qf_test::listing(ref);
  BOOST_REQUIRE_GE(shards.size(), 2u);
  auto r = farm.batch();
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(qf_batch::summary_line(r.out) == summary(1 + shards.size(), 1 + shards.size(), 0, 0));
  for (size_t i = 0; i < shards.size(); ++i) {
    BOOST_TEST(qf_test::read_bytes(farm.out / shards[i]) == qf_test::read_bytes(ref / shards[i]), shards[i]);
    std::string name = shards[i];
    name.replace(name.find("Q8_0"), 4, "q8-shards");
    BOOST_TEST(qf_test::read_bytes(farm.out / name) == qf_test::read_bytes(ref / shards[i]), name);
  }
}

BOOST_AUTO_TEST_CASE(shard_tasks_without_a_split_output_are_refused) {
  Farm farm;
  farm.synth("a.gguf", 1);
  farm.write("models: [a.gguf]\njobs:\n  - {type: f16, shard_tasks: true}\n");
  auto r = farm.batch();
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.err == "quantflow: error: " + farm.file.string() +
                          ":3:5: a/f16: shard_tasks needs a split output (set output.split_size or "
                          "output.split_max_tensors)\n");
}

BOOST_AUTO_TEST_CASE(example_gguf_presets_batch_runs_on_a_gguf_model) {
  qf_test::TempDir tmp;
  const fs::path model = qf_test::synth_model(tmp / "model.gguf", qf_batch::kSmallShape + " --seed 4");
  const fs::path out = tmp / "farm";
  auto plan = run_example("batch-gguf-presets.yaml", model, out, "--dry-run");
  BOOST_REQUIRE_MESSAGE(plan.exit_code == 0, plan.err);
  BOOST_TEST(plan.out.find("model/Q5_K_M  -> " + (out / "model-Q5_K_M.gguf").string() + "  will run (new)") !=
             std::string::npos);
  auto r = run_example("batch-gguf-presets.yaml", model, out);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(qf_batch::summary_line(r.out) == summary(4, 4, 0, 0));
  BOOST_TEST(
      qf_test::listing(out) == (Names{".quantflow-batch-gguf-presets", "gguf-presets.manifest.json",
                                      "model-Q4_K_M.gguf", "model-Q5_K_M.gguf", "model-Q6_K.gguf", "model-Q8_0.gguf"}),
      boost::test_tools::per_element());
  BOOST_TEST(qf_test::tensors_of(out / "model-Q6_K.gguf").at("blk.0.ffn_down.weight").type == "q6_k");
  auto again = run_example("batch-gguf-presets.yaml", model, out);
  BOOST_REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  BOOST_TEST(qf_batch::summary_line(again.out) == summary(0, 0, 0, 4));
}

BOOST_AUTO_TEST_CASE(example_hf_folder_batch_runs_on_a_llama_checkpoint) {
  qf_test::TempDir tmp;
  const qf_hf::Family llama{.hf_class = "LlamaForCausalLM"};
  const qf_hf::Dims dims;  // hidden 256, ffn 512: rows K-quants and IQ4_XS take
  const fs::path checkpoint = qf_hf::write_checkpoint(tmp / "hf-model", llama, dims, "F16", "F32");
  qf_hf::write_sentencepiece_tokenizer(checkpoint, dims.vocab);
  const fs::path out = tmp / "farm";
  auto r = run_example("batch-hf-folder.yaml", fs::path(checkpoint.string() + "/"), out);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
  BOOST_TEST(qf_batch::summary_line(r.out) == summary(5, 5, 0, 0));
  BOOST_TEST(qf_test::listing(out) ==
                 (Names{".quantflow-batch-hf-folder", "hf-folder.manifest.json", "hf-model-IQ4_XS.gguf",
                        "hf-model-Q4_K_M.gguf", "hf-model-Q5_K_M.gguf", "hf-model-Q8_0.gguf", "hf-model-mlx-4bit"}),
             boost::test_tools::per_element());
  const fs::path mlx = out / "hf-model-mlx-4bit";
  BOOST_TEST(fs::is_regular_file(mlx / "config.json"));
  BOOST_TEST(fs::is_regular_file(mlx / "model.safetensors"));
  // The folder task records every file of the folder.
  const json t = qf_batch::task_entry(qf_batch::read_json(out / "hf-folder.manifest.json"), "hf-model/mlx-4bit");
  Names recorded;
  for (const auto& o : t.at("outputs")) recorded.push_back(fs::path(o.at("path").get<std::string>()).filename());
  Names in_folder;
  for (const auto& name : qf_test::listing(mlx))
    if (!name.starts_with(".")) in_folder.push_back(name);
  BOOST_TEST(recorded == in_folder, boost::test_tools::per_element());
  // One pass from the checkpoint: the same bytes as `quantflow quantize` of the folder.
  auto q = cli("quantize -q " + quote(checkpoint) + " " + quote(tmp / "q4.gguf") + " Q4_K_M");
  BOOST_REQUIRE_MESSAGE(q.exit_code == 0, q.err);
  BOOST_TEST(qf_test::read_bytes(tmp / "q4.gguf") == qf_test::read_bytes(out / "hf-model-Q4_K_M.gguf"));
  auto again = run_example("batch-hf-folder.yaml", fs::path(checkpoint.string() + "/"), out);
  BOOST_REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  BOOST_TEST(qf_batch::summary_line(again.out) == summary(0, 0, 0, 5));
}
