// The batch file (docs/build-farm.md, "The batch file"): defaults, names, the matrix with
// exclusions, per-job model globs and overrides, output templates, and every error as one line
// `FILE:LINE:COLUMN: message`; through the CLI, exit code 2 with nothing written.
#include "batch/batch_file.hpp"
#include "batch/expansion.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using qf_test::quote;
using quantflow::batch::BatchFile;
using quantflow::batch::BatchTask;
using quantflow::batch::expand_batch;
using quantflow::batch::parse_batch_file;

namespace {

using Names = std::vector<std::string>;

const std::string kDir = "/data/batches";

BatchFile parse_ok(const std::string& text, const std::vector<quantflow::pipeline::RecipeOverride>& sets = {}) {
  auto parsed = parse_batch_file(text, kDir + "/b.yaml", kDir, sets);
  BOOST_REQUIRE_MESSAGE(parsed.ok(), parsed.status().to_string());
  return std::move(parsed).value();
}

// The error of parsing, else of expanding, `text`.
std::string error_of(const std::string& text) {
  auto parsed = parse_batch_file(text, kDir + "/b.yaml", kDir);
  if (!parsed.ok()) return parsed.status().to_string();
  auto tasks = expand_batch(*parsed);
  BOOST_REQUIRE_MESSAGE(!tasks.ok(), "no error for:\n" << text);
  return tasks.status().to_string();
}

std::string at(int line, int column, const std::string& message) {
  return kDir + "/b.yaml:" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

}  // namespace

BOOST_AUTO_TEST_CASE(defaults_name_the_batch_models_jobs_and_outputs) {
  const BatchFile b = parse_ok(R"(models:
  - m/llama-f16.gguf
  - /hf/Llama-3.2-1B/
  - {name: qwen, path: ../q.safetensors}
jobs:
  - preset: Q4_K_M
  - type: mlx_q4
  - recipe: {preset: Q8_0}
)");
  BOOST_TEST(b.name == "b");
  BOOST_TEST(b.output_dir == kDir);
  BOOST_TEST(b.manifest == kDir + "/b.manifest.json");
  BOOST_TEST(b.state_dir() == kDir + "/.quantflow-batch-b");
  BOOST_TEST(b.parallel_jobs == 1);
  Names models, paths, jobs;
  for (const auto& m : b.models) models.push_back(m.name.value), paths.push_back(m.path.value);
  for (const auto& j : b.jobs) jobs.push_back(j.name.value);
  BOOST_TEST(models == (Names{"llama-f16", "Llama-3.2-1B", "qwen"}), boost::test_tools::per_element());
  BOOST_TEST(paths == (Names{kDir + "/m/llama-f16.gguf", "/hf/Llama-3.2-1B/", "/data/q.safetensors"}),
             boost::test_tools::per_element());
  BOOST_TEST(jobs == (Names{"Q4_K_M", "mlx_q4", "Q8_0"}), boost::test_tools::per_element());
  BOOST_TEST(b.jobs[1].recipe["default_type"].as<std::string>() == "mlx_q4");  // type: is default_type

  auto tasks = expand_batch(b);
  BOOST_REQUIRE(tasks.ok());
  Names ids, outputs;
  for (const auto& t : *tasks) ids.push_back(t.id), outputs.push_back(t.output);
  BOOST_TEST(ids == (Names{"llama-f16/Q4_K_M", "llama-f16/mlx_q4", "llama-f16/Q8_0", "Llama-3.2-1B/Q4_K_M",
                           "Llama-3.2-1B/mlx_q4", "Llama-3.2-1B/Q8_0", "qwen/Q4_K_M", "qwen/mlx_q4", "qwen/Q8_0"}),
             boost::test_tools::per_element());
  BOOST_TEST(outputs[0] == kDir + "/llama-f16-Q4_K_M.gguf");
  BOOST_TEST(outputs[8] == kDir + "/qwen-Q8_0.gguf");
  for (size_t i = 0; i < tasks->size(); ++i) BOOST_TEST((*tasks)[i].index == i);
  const auto& first = (*tasks)[0].recipe;
  BOOST_TEST(first["inputs"][0].as<std::string>() == kDir + "/m/llama-f16.gguf");
  BOOST_TEST(first["output"]["path"].as<std::string>() == kDir + "/llama-f16-Q4_K_M.gguf");
  BOOST_TEST(first["preset"].as<std::string>() == "Q4_K_M");
}

BOOST_AUTO_TEST_CASE(templates_globs_exclusions_and_overrides_shape_the_matrix) {
  const BatchFile b = parse_ok(R"(name: fam
output_dir: out
output: "{batch}/{model}.{job}.gguf"
models: [a.gguf, b.gguf, c.gguf]
jobs:
  - {preset: Q4_K_M, set: {threads: 3, preset_options.pure: true}}
  - {name: folder, type: mlx_q4, output: "mlx/{model}-{job}/", models: ["[ab]"]}
  - {name: split, recipe: {default_type: f16, output: {split_max_tensors: 4}}}
exclude:
  - {model: c, job: "Q4*"}
overrides:
  - {model: "*", job: Q4_K_M, set: {threads: 5}}
  - {model: b, job: "*", set: {imatrix: b.dat}}
)");
  BOOST_TEST(b.output_dir == kDir + "/out");
  BOOST_TEST(b.manifest == kDir + "/out/fam.manifest.json");
  auto tasks = expand_batch(b);
  BOOST_REQUIRE_MESSAGE(tasks.ok(), tasks.status().to_string());
  std::map<std::string, const BatchTask*> by_id;
  Names ids;
  for (const auto& t : *tasks) ids.push_back(t.id), by_id[t.id] = &t;
  BOOST_TEST(ids == (Names{"a/Q4_K_M", "a/folder", "a/split", "b/Q4_K_M", "b/folder", "b/split", "c/split"}),
             boost::test_tools::per_element());
  BOOST_TEST(by_id["a/Q4_K_M"]->output == kDir + "/out/fam/a.Q4_K_M.gguf");
  BOOST_TEST(by_id["a/folder"]->output == kDir + "/out/mlx/a-folder/");
  const auto& q4 = by_id["a/Q4_K_M"]->recipe;
  BOOST_TEST(q4["threads"].as<int>() == 5);  // the override comes after the job's own set
  BOOST_TEST(q4["preset_options"]["pure"].as<bool>());
  BOOST_TEST(!q4["imatrix"]);
  BOOST_TEST(by_id["b/split"]->recipe["imatrix"].as<std::string>() == "b.dat");
  // The job's output settings stay; its path is the batch's.
  const auto& split = by_id["c/split"]->recipe["output"];
  BOOST_TEST(split["split_max_tensors"].as<int>() == 4);
  BOOST_TEST(split["path"].as<std::string>() == kDir + "/out/fam/c.split.gguf");
  // Tasks do not share the job's recipe: an override on b left a's and the job's alone.
  BOOST_TEST(!by_id["a/split"]->recipe["imatrix"]);
  BOOST_TEST(!b.jobs[2].recipe["output"]["path"]);
}

BOOST_AUTO_TEST_CASE(set_overrides_replace_values_with_paths_relative_to_the_current_directory) {
  auto models = quantflow::pipeline::parse_override("models=[x.gguf,/abs/y/]");
  auto job = quantflow::pipeline::parse_override("jobs.0.preset=Q5_K_M");
  BOOST_REQUIRE(models.ok() && job.ok());
  const BatchFile b = parse_ok("models: [a.gguf]\njobs: [{preset: Q4_K_M}]\n", {*models, *job});
  BOOST_REQUIRE_EQUAL(b.models.size(), 2u);
  BOOST_TEST(b.models[0].path.value == (fs::current_path() / "x.gguf").string());
  BOOST_TEST(b.models[1].path.value == "/abs/y/");
  BOOST_TEST(b.models[1].name.value == "y");
  BOOST_TEST(b.jobs[0].name.value == "Q5_K_M");
}

BOOST_AUTO_TEST_CASE(errors_are_one_line_with_the_position) {
  BOOST_TEST(error_of("models: [a.gguf]\njobs: [{preset: Q8_0}]\nthread: 2\n") ==
             at(3, 1,
                "unknown key 'thread' in the batch file (expected one of: name, output_dir, manifest, output, models, "
                "jobs, exclude, overrides, threads, memory_limit, parallel_jobs, slurm)"));
  BOOST_TEST(error_of("models: [a.gguf]\njobs:\n  - {preset: Q8_0, type: q4_0}\n") ==
             at(3, 5, "a job needs exactly one of 'recipe' (a file or an inline recipe), 'preset' or 'type'"));
  BOOST_TEST(error_of("jobs: [{preset: Q8_0}]\n") == at(1, 1, "the batch file needs 'models'"));
  BOOST_TEST(error_of("models: []\njobs: [{preset: Q8_0}]\n") == at(1, 9, "'models' lists no model"));
  BOOST_TEST(
      error_of("models: [x/a.gguf, y/a.gguf]\njobs: [{preset: Q8_0}]\n") ==
      at(1, 20,
         "model name 'a' is also the name of the model at " + kDir + "/b.yaml:1:10 (give one of them a 'name')"));
  BOOST_TEST(
      error_of("models: [a.gguf]\njobs:\n  - preset: Q8_0\n  - preset: Q8_0\n") ==
      at(4, 5, "job name 'Q8_0' is also the name of the job at " + kDir + "/b.yaml:3:5 (give one of them a 'name')"));
  BOOST_TEST(error_of("models: [a.gguf]\njobs: [{preset: Q8_0, set: {output.path: x}}]\n") ==
             at(2, 29, "'output.path' is set by the batch (models and output names)"));
  BOOST_TEST(error_of("models: [a.gguf]\noutput: \"{model}-{size}.gguf\"\njobs: [{preset: Q8_0}]\n") ==
             at(2, 9, "output name '{model}-{size}.gguf': unknown field {size} (expected {model}, {job} or {batch})"));
}

BOOST_AUTO_TEST_CASE(two_tasks_writing_one_path_or_a_model_are_refused_before_anything_runs) {
  BOOST_TEST(error_of("output_dir: out\nmodels: [a.gguf]\noutput: \"{model}.gguf\"\njobs: [{preset: Q8_0}, {preset: "
                      "Q4_0}]\n") == at(3, 9,
                                        "a/Q8_0 and a/Q4_0 would both write " + kDir +
                                            "/out/a.gguf (put {model} and {job} in the output name)"));
  BOOST_TEST(error_of("models: [a.gguf]\njobs: [{preset: Q8_0, output: a.gguf}]\n") ==
             at(2, 31, "a/Q8_0 would write " + kDir + "/a.gguf, which is the model 'a'"));

  // Through the CLI: exit code 2, the one line, no output folder made.
  qf_test::TempDir tmp;
  qf_test::write_text(tmp / "dup.yaml",
                      "output_dir: out\nmodels: [a.gguf]\njobs:\n  - preset: Q8_0\n  - {type: q8_0, output: "
                      "\"{model}-Q8_0.gguf\"}\n");
  auto r = qf_test::cli("batch " + quote(tmp / "dup.yaml"));
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.out == "");
  BOOST_TEST(r.err == "quantflow: error: " + (tmp / "dup.yaml").string() +
                          ":5:26: a/Q8_0 and a/q8_0 would both write " + (tmp / "out" / "a-Q8_0.gguf").string() +
                          " (put {model} and {job} in the output name)\n");
  BOOST_TEST(!fs::exists(tmp / "out"));
  for (const char* args : {"--dry-run", "--json", "--resume"}) {
    auto again = qf_test::cli("batch " + quote(tmp / "dup.yaml") + " " + args);
    BOOST_TEST(again.exit_code == 2);
    BOOST_TEST(again.err == r.err);
  }
  BOOST_TEST(qf_test::listing(tmp.path) == Names{"dup.yaml"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(cli_reports_batch_file_errors_with_exit_code_2) {
  qf_test::TempDir tmp;
  const std::map<std::string, std::string> cases = {
      {"models: [a.gguf]\njobs: [{preset: Q8_0}]\nslurm: {cpu: 2}\n",
       ":3:9: unknown key 'cpu' in 'slurm' (expected one of: cpus, memory, time, partition, options, max_parallel)"},
      {"models: [a.gguf]\njobs:\n  - {preset: Q8_0, type: q4_0}\n",
       ":3:5: a job needs exactly one of 'recipe' (a file or an inline recipe), 'preset' or 'type'"},
      {"jobs: [{preset: Q8_0}]\n", ":1:1: the batch file needs 'models'"},
  };
  for (const auto& [text, message] : cases) {
    qf_test::write_text(tmp / "b.yaml", text);
    auto r = qf_test::cli("batch " + quote(tmp / "b.yaml"));
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.err == "quantflow: error: " + (tmp / "b.yaml").string() + message + "\n");
  }
  BOOST_TEST(qf_test::listing(tmp.path) == Names{"b.yaml"}, boost::test_tools::per_element());
}
