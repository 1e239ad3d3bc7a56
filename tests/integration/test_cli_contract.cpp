// What users see of every command: help that lists only real options, errors that name
// positionals as usage lines do, exit codes, refusals that protect files the user did not
// name, and conversions that would produce files no consumer can load.
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::listing;
using qf_test::quote;
using qf_test::tensors_of;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kCommands[] = {"inspect", "convert", "plugins", "quantize", "synth",
                                     "verify",  "diff",    "run",     "estimate"};

fs::path synth(const qf_test::TempDir& dir, const std::string& shape = "--layers 1 --hidden 256 --ffn 96 --vocab 64") {
  return qf_test::synth_model(dir / "m.gguf", shape);
}

// A safetensors file holding F32 tensors of shape [2, 2] under `names`.
void write_safetensors(const fs::path& path, const std::vector<std::string>& names) {
  json header = {{"__metadata__", {{"format", "pt"}}}};
  for (size_t i = 0; i < names.size(); ++i)
    header[names[i]] = {{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {16 * i, 16 * (i + 1)}}};
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  std::string bytes(8, '\0');
  const uint64_t length = text.size();
  std::memcpy(bytes.data(), &length, 8);
  bytes += text;
  const float values[4] = {1.0f, -2.0f, 0.5f, 0.25f};
  for (size_t i = 0; i < names.size(); ++i) bytes.append(reinterpret_cast<const char*>(values), sizeof values);
  qf_test::write_text(path, bytes);
}

}  // namespace

BOOST_AUTO_TEST_CASE(help_lists_only_options_users_can_type) {
  for (const char* command : kCommands) {
    auto r = cli(std::string(command) + " --help");
    BOOST_CHECK_EQUAL(r.exit_code, 0);
    BOOST_CHECK_MESSAGE(r.out.rfind(std::string("usage: quantflow ") + command, 0) == 0, r.out);
    for (const char* internal : {"--input ", "--output ", "--file ", "--a ", "--b ", "--args ", "--recipe "})
      BOOST_CHECK_MESSAGE(r.out.find(internal) == std::string::npos, command << " --help shows " << internal);
    BOOST_CHECK_MESSAGE(r.out.find("--help") != std::string::npos, command);
  }
  // estimate writes nothing: it offers no options about writing.
  auto estimate = cli("estimate --help");
  for (const char* writing : {"--report", "--model-card", "--force", "--dry-run"})
    BOOST_CHECK_MESSAGE(estimate.out.find(writing) == std::string::npos, "estimate --help lists " << writing);
  auto run = cli("run --help");
  for (const char* writing : {"--report", "--model-card", "--force", "--dry-run"})
    BOOST_CHECK_MESSAGE(run.out.find(writing) != std::string::npos, "run --help lacks " << writing);
}

BOOST_AUTO_TEST_CASE(errors_call_positionals_by_their_usage_names) {
  qf_test::TempDir tmp;
  const auto model = synth(tmp);
  const std::pair<std::string, std::string> cases[] = {
      {"convert " + quote(model), "quantflow: error: missing OUT (see --help)\n"},
      {"convert", "quantflow: error: missing IN (see --help)\n"},
      {"inspect", "quantflow: error: missing FILE (see --help)\n"},
      {"verify", "quantflow: error: missing FILE (see --help)\n"},
      {"diff " + quote(model), "quantflow: error: missing B (see --help)\n"},
      {"run", "quantflow: error: missing RECIPE (see --help)\n"},
      {"synth", "quantflow: error: missing OUT (see --help)\n"},
      {"convert a b c",
       "quantflow: error: too many positional options have been specified on the command line "
       "(see --help)\n"},
  };
  for (const auto& [args, expected] : cases) {
    auto r = cli(args);
    BOOST_CHECK_EQUAL(r.exit_code, 2);
    BOOST_CHECK_EQUAL(r.err, expected);
  }
}

BOOST_AUTO_TEST_CASE(a_missing_input_is_exit_two_for_every_command) {
  qf_test::TempDir tmp;
  const std::string nope = quote(tmp / "nope.yaml");
  for (const std::string command : {"run", "estimate"}) {
    auto r = cli(command + " " + nope);
    BOOST_CHECK_EQUAL(r.exit_code, 2);
    BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + (tmp / "nope.yaml").string() + ": no such file\n");
  }
  const std::string gguf = quote(tmp / "nope.gguf");
  for (const std::string& args :
       {"inspect " + gguf, "verify " + gguf, "convert " + gguf + " " + quote(tmp / "o.gguf"),
        "quantize " + gguf + " " + quote(tmp / "o.gguf") + " Q8_0", "diff " + gguf + " " + gguf}) {
    auto r = cli(args);
    BOOST_CHECK_MESSAGE(r.exit_code == 2, args << ": exit " << r.exit_code);
    BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + (tmp / "nope.gguf").string() + ": no such file\n");
  }
}

BOOST_AUTO_TEST_CASE(thread_counts_out_of_range_are_refused) {
  qf_test::TempDir tmp;
  const auto model = synth(tmp);
  const fs::path recipe = tmp / "r.yaml";
  qf_test::write_text(recipe, "inputs: m.gguf\noutput:\n  path: o.gguf\n");
  for (const std::string& args :
       {"convert " + quote(model) + " " + quote(tmp / "o.gguf") + " --threads -1",
        "quantize " + quote(model) + " " + quote(tmp / "o.gguf") + " Q8_0 --threads -1",
        "run " + quote(recipe) + " --threads -1", "estimate " + quote(recipe) + " --threads -3",
        "convert " + quote(model) + " " + quote(tmp / "o.gguf") + " --threads 100000"}) {
    auto r = cli(args);
    BOOST_CHECK_MESSAGE(r.exit_code == 2, args << ": exit " << r.exit_code);
    BOOST_CHECK_MESSAGE(
        r.err.rfind("quantflow: error: --threads must be 0 (all cores) or a count from 1 to 4096, not ", 0) == 0,
        r.err);
  }
  BOOST_CHECK(listing(tmp.path) == (std::vector<std::string>{"m.gguf", "r.yaml"}));
}

BOOST_AUTO_TEST_CASE(model_cards_never_replace_a_readme_unless_forced) {
  qf_test::TempDir tmp;
  const auto model = synth(tmp, "--layers 1 --hidden 256 --ffn 256 --vocab 64");
  const fs::path out_dir = tmp / "q";
  fs::create_directories(out_dir);
  const fs::path readme = out_dir / "README.md";
  qf_test::write_text(readme, "my notes\n");
  const std::string expected = "quantflow: error: " + readme.string() +
                               ": a file of this name already exists and quantflow replaces only files it was asked "
                               "to write (pass --force to replace it with the model card)\n";
  const fs::path recipe = tmp / "r.yaml";
  qf_test::write_text(recipe, "inputs: m.gguf\noutput:\n  path: q/r.gguf\n  model_card: true\ndefault_type: q8_0\n");
  for (const std::string& args :
       {"convert --type q8_0 --model-card " + quote(model) + " " + quote(out_dir / "c.gguf"),
        "quantize --model-card " + quote(model) + " " + quote(out_dir / "k.gguf") + " Q8_0", "run " + quote(recipe)}) {
    auto r = cli(args);
    BOOST_CHECK_MESSAGE(r.exit_code == 2, args << ": exit " << r.exit_code);
    BOOST_CHECK_EQUAL(r.err, expected);
    // Refused before anything was written.
    BOOST_CHECK(listing(out_dir) == std::vector<std::string>{"README.md"});
    auto kept = qf_test::read_bytes(readme);
    BOOST_CHECK_EQUAL(std::string(kept.begin(), kept.end()), "my notes\n");
  }
  auto forced = cli("convert -q --type q8_0 --model-card --force " + quote(model) + " " + quote(out_dir / "c.gguf"));
  BOOST_REQUIRE_MESSAGE(forced.exit_code == 0, forced.err);
  auto card = qf_test::read_bytes(readme);
  BOOST_CHECK_EQUAL(std::string(card.begin(), card.begin() + 4), "---\n");
}

BOOST_AUTO_TEST_CASE(fallback_takes_an_ordered_list) {
  qf_test::TempDir tmp;
  const auto model = synth(tmp, "--layers 1 --hidden 256 --ffn 96 --vocab 256");
  // ffn_down rows are 96 wide: q5_k (256) does not fit, q8_0 (32) does, and wins over q4_0.
  for (const std::string fallback : {"--fallback q5_k,q8_0,q4_0", "--fallback q5_k --fallback q8_0,q4_0"}) {
    const fs::path out = tmp / "o.gguf";
    auto r = cli("convert -q --type q4_k " + fallback + " " + quote(model) + " " + quote(out));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_CHECK_EQUAL(tensors_of(out).at("blk.0.ffn_down.weight").type, "q8_0");
    BOOST_CHECK_EQUAL(tensors_of(out).at("blk.0.ffn_up.weight").type, "q4_k");
  }
  auto none = cli("convert --type q4_k --fallback q5_k,q6_k " + quote(model) + " " + quote(tmp / "n.gguf"));
  BOOST_CHECK_EQUAL(none.exit_code, 2);
  BOOST_CHECK_MESSAGE(none.err.ends_with("nor of any --fallback type's\n"), none.err);
  auto unknown = cli("convert --type q4_k --fallback q8_0,q9_9 " + quote(model) + " " + quote(tmp / "n.gguf"));
  BOOST_CHECK_EQUAL(unknown.exit_code, 2);
  BOOST_CHECK_EQUAL(unknown.err, "quantflow: error: unknown fallback type 'q9_9'\n");
}

BOOST_AUTO_TEST_CASE(hugging_face_names_and_lora_adapters_are_not_written_as_unloadable_gguf) {
  qf_test::TempDir tmp;
  const fs::path hf = tmp / "hf.safetensors";
  write_safetensors(hf, {"model.layers.0.self_attn.q_proj.weight", "model.norm.weight"});
  auto r = cli("convert " + quote(hf) + " " + quote(tmp / "hf.gguf"));
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + (tmp / "hf.gguf").string() +
                               ": tensor 'model.layers.0.self_attn.q_proj.weight': Hugging Face tensor names and no "
                               "general.architecture: llama.cpp cannot load such a GGUF file; convert Hugging Face "
                               "checkpoints with a recipe using 'rename: {builtin: hf-to-gguf}' (see docs/recipes.md), "
                               "or pass --option allow_unloadable=1\n");

  const fs::path lora = tmp / "adapter.safetensors";
  write_safetensors(lora, {"base_model.model.transformer.h.0.attn.c_attn.lora_A.weight",
                           "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"});
  auto l = cli("convert " + quote(lora) + " " + quote(tmp / "adapter.gguf"));
  BOOST_CHECK_EQUAL(l.exit_code, 2);
  BOOST_CHECK_MESSAGE(l.err.find("tensor 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight': this is a "
                                 "LoRA adapter") != std::string::npos,
                      l.err);
  BOOST_CHECK(listing(tmp.path) == (std::vector<std::string>{"adapter.safetensors", "hf.safetensors"}));

  // Other containers take them as they are, and users who know better may insist.
  BOOST_CHECK_EQUAL(cli("convert -q " + quote(lora) + " " + quote(tmp / "copy.safetensors")).exit_code, 0);
  auto forced = cli("convert -q --option allow_unloadable=1 " + quote(hf) + " " + quote(tmp / "hf.gguf"));
  BOOST_CHECK_EQUAL(forced.exit_code, 0);
  BOOST_CHECK_EQUAL(tensors_of(tmp / "hf.gguf").size(), 2u);

  if (qf_test::shared_part_available("the shared LoRA adapter and HF checkpoint")) {
    const fs::path real = qf_test::shared_testdata() / "models" / "lora-gpt2-tigrinya" / "adapter_model.safetensors";
    auto adapter = cli("convert " + quote(real) + " " + quote(tmp / "real.gguf"));
    BOOST_CHECK_EQUAL(adapter.exit_code, 2);
    BOOST_CHECK_MESSAGE(adapter.err.find("this is a LoRA adapter") != std::string::npos, adapter.err);
    const fs::path checkpoint = qf_test::shared_testdata() / "hf" / "tiny-gpt2" / "model.safetensors";
    auto plain = cli("convert " + quote(checkpoint) + " " + quote(tmp / "gpt2.gguf"));
    BOOST_CHECK_EQUAL(plain.exit_code, 2);
    BOOST_CHECK_MESSAGE(plain.err.find("hf-to-gguf") != std::string::npos, plain.err);
  }
}
