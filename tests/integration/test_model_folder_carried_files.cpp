// A folder output carries the tokenizer and generation files of its input folder (the "mlx"
// container's QfFolderLayout::carried_files), byte for byte, so that the written folder loads
// on its own: through `convert` and `run`, never from several inputs, never into a plain file,
// never through a link leading out of the input folder.
#include "support/model_folders.hpp"

#include "quantflow/plugin.hpp"

using namespace qf_folder;
using nlohmann::json;
using qf_test::quote;

namespace {

// The files a Hugging Face checkpoint keeps beside its weights; the first four are carried.
const std::vector<std::string> kCarried = {"cl100k_base.tiktoken", "generation_config.json", "tokenizer.json",
                                           "tokenizer_config.json"};

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> bytes(n);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  return bytes;
}

// A checkpoint folder `dir`: config.json, model.safetensors with the given tensor names
// ([4, 128] f16 each), the tokenizer files, a README.md, notes, a hidden tiktoken file and a
// tokenizer.json one level down.
fs::path write_checkpoint(const fs::path& dir, const std::vector<std::string>& tensors) {
  std::mt19937 rng(5);
  std::vector<Part> parts;
  for (const auto& name : tensors) append_parts(parts, plain_tensor(name, {4, 128}, "F16", rng));
  write_folder(dir, {{"model_type", "llama"}, {"torch_dtype", "float16"}}, parts);
  qf_test::write_text(dir / "tokenizer.json", R"({"version": "1.0", "model": {"type": "BPE", "vocab": {"é": 0}}})");
  qf_test::write_text(dir / "tokenizer_config.json", "{\n  \"bos_token\": \"<s>\"\n}\n");
  qf_test::write_text(dir / "generation_config.json", R"({"bos_token_id": 1, "eos_token_id": 2})");
  // Larger than the 1 MiB the copy reads at a time, every byte value present.
  write_file(dir / "cl100k_base.tiktoken", random_bytes((3u << 20) / 2 + 7, 11));
  qf_test::write_text(dir / "README.md", "# a model card\n");
  qf_test::write_text(dir / "notes.txt", "not part of the model\n");
  qf_test::write_text(dir / ".draft.tiktoken", "hidden\n");
  fs::create_directories(dir / "extra");
  qf_test::write_text(dir / "extra" / "tokenizer.json", "{}");
  return dir;
}

std::vector<std::string> with_weights(std::vector<std::string> names) {
  names.insert(names.end(), {"config.json", "model.safetensors"});
  std::sort(names.begin(), names.end());
  return names;
}

// `out` holds the weights, config.json and exactly the carried files of `in`, each byte for byte.
void check_carried(const fs::path& in, const fs::path& out) {
  BOOST_CHECK((qf_test::listing(out) == with_weights(kCarried)));
  for (const auto& name : kCarried) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_CHECK(!fs::is_symlink(out / name));
      BOOST_CHECK(qf_test::read_bytes(out / name) == qf_test::read_bytes(in / name));
    }
  }
}

std::string summary(const fs::path& in) {
  return "\ncarried from " + in.string() + "/: cl100k_base.tiktoken, generation_config.json, tokenizer.json, " +
         "tokenizer_config.json\n";
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_mlx_container_declares_the_tokenizer_and_generation_files) {
  BOOST_CHECK_EQUAL(QUANTFLOW_ABI_VERSION, 6u);
  const auto* container = qf_test::plugins().find_container("mlx");
  BOOST_REQUIRE(container && container->folder);
  const QfFolderLayout& layout = *container->folder;
  const std::vector<std::string> patterns(layout.carried_files, layout.carried_files + layout.n_carried_files);
  BOOST_CHECK((patterns == std::vector<std::string>{"tokenizer.json", "tokenizer_config.json", "tokenizer.model",
                                                    "special_tokens_map.json", "added_tokens.json", "vocab.json",
                                                    "merges.txt", "generation_config.json", "chat_template.jinja",
                                                    "chat_template.json", "*.tiktoken", "preprocessor_config.json"}));
}

BOOST_AUTO_TEST_CASE(convert_carries_the_files_into_an_mlx_folder) {
  qf_test::TempDir tmp;
  const fs::path in = write_checkpoint(tmp / "in", {"model.layers.0.mlp.up_proj.weight", "lm_head.weight"});
  const auto r = cli_ok("convert " + quote(in) + "/ " + quote(tmp / "out") + "/ --type mlx_q4");
  check_carried(in, tmp / "out");
  BOOST_CHECK_NE(r.out.find(summary(in)), std::string::npos);
  // The tensors are what they would be without the carried files.
  BOOST_CHECK_EQUAL(qf_test::tensors_of(tmp / "out").at("lm_head.weight").type, "mlx_q4_g64_f16");
  // Folder to folder again: the output carries them on.
  cli_ok("convert -q " + quote(tmp / "out") + " " + quote(tmp / "again") + "/");
  check_carried(in, tmp / "again");
}

BOOST_AUTO_TEST_CASE(a_recipe_with_one_folder_input_carries_the_files) {
  qf_test::TempDir tmp;
  const fs::path in = write_checkpoint(tmp / "in", {"model.layers.0.mlp.up_proj.weight", "lm_head.weight"});
  qf_test::write_text(tmp / "r.yaml",
                      "inputs: " + in.string() + "/\noutput: " + (tmp / "out").string() + "/\ndefault_type: mlx_q4\n");
  const auto r = cli_ok("run " + quote(tmp / "r.yaml"));
  check_carried(in, tmp / "out");
  BOOST_CHECK_NE(r.out.find(summary(in)), std::string::npos);
}

// Merged from two folders, the model has no one tokenizer: nothing is carried, and the summary
// says why.
BOOST_AUTO_TEST_CASE(several_inputs_carry_nothing) {
  qf_test::TempDir tmp;
  const fs::path a = write_checkpoint(tmp / "a", {"model.layers.0.mlp.up_proj.weight"});
  const fs::path b = write_checkpoint(tmp / "b", {"lm_head.weight"});
  qf_test::write_text(tmp / "r.yaml", "inputs: [" + a.string() + ", " + b.string() +
                                          "]\noutput: " + (tmp / "out").string() + "/\ndefault_type: mlx_q4\n");
  const auto r = cli_ok("run " + quote(tmp / "r.yaml"));
  BOOST_CHECK((qf_test::listing(tmp / "out") == with_weights({})));
  BOOST_CHECK_NE(r.out.find("\ncarried no tokenizer or generation files: the model comes from 2 inputs; copy them "
                            "from the folder they belong to\n"),
                 std::string::npos);
  BOOST_CHECK_EQUAL(r.out.find("carried from"), std::string::npos);
}

// A plain file output gets nothing beside it; a folder output from a file gets no line.
BOOST_AUTO_TEST_CASE(plain_outputs_and_inputs_carry_nothing) {
  qf_test::TempDir tmp;
  const fs::path in = write_checkpoint(tmp / "in", {"lm_head.weight"});
  fs::create_directories(tmp / "plain");
  cli_ok("convert -q " + quote(in) + " " + quote(tmp / "plain" / "model.safetensors"));
  BOOST_CHECK((qf_test::listing(tmp / "plain") == std::vector<std::string>{"model.safetensors"}));
  const auto r = cli_ok("convert " + quote(tmp / "plain" / "model.safetensors") + " " + quote(tmp / "out") + "/");
  BOOST_CHECK((qf_test::listing(tmp / "out") == with_weights({})));
  BOOST_CHECK_EQUAL(r.out.find("carried"), std::string::npos);
}

// A link to a file inside the folder is followed: the output holds the file's bytes, not a link.
BOOST_AUTO_TEST_CASE(a_link_inside_the_folder_is_copied_as_its_target) {
  qf_test::TempDir tmp;
  const fs::path in = write_checkpoint(tmp / "in", {"lm_head.weight"});
  fs::rename(in / "tokenizer.json", in / "extra" / "real-tokenizer.json");
  fs::create_symlink("extra/real-tokenizer.json", in / "tokenizer.json");
  cli_ok("convert -q " + quote(in) + " " + quote(tmp / "out") + "/");
  check_carried(in, tmp / "out");
}

// A link leading out of the input folder (directly, or through another link) or nowhere is
// refused before anything is written.
BOOST_AUTO_TEST_CASE(a_link_leading_outside_the_folder_is_refused) {
  qf_test::TempDir tmp;
  qf_test::write_text(tmp / "secret.json", "{\"key\": \"private\"}");
  const fs::path secret = fs::canonical(tmp / "secret.json");
  const fs::path in = write_checkpoint(tmp / "in", {"lm_head.weight"});
  auto refused = [&](const std::string& link, const std::string& reason) {
    BOOST_TEST_CONTEXT(link) {
      const auto r = qf_test::cli("convert " + quote(in) + " " + quote(tmp / "out") + "/ --type mlx_q4");
      BOOST_CHECK_EQUAL(r.exit_code, 2);
      BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + (in / link).string() + ": " + reason + "\n");
      BOOST_CHECK(!fs::exists(tmp / "out"));
    }
  };
  const std::string outside =
      "the link leads outside the input folder, to " + secret.string() + "; only files inside it are carried";
  fs::remove(in / "tokenizer.json");
  fs::create_symlink("../secret.json", in / "tokenizer.json");
  refused("tokenizer.json", outside);
  fs::remove(in / "tokenizer.json");
  fs::create_symlink(secret, in / "extra" / "escape");
  fs::create_symlink("extra/escape", in / "tokenizer.json");
  refused("tokenizer.json", outside);
  fs::remove(in / "tokenizer.json");
  fs::create_symlink("missing.json", in / "vocab.json");
  refused("vocab.json", "the link cannot be followed: No such file or directory");
  // A link whose name is not carried is never looked at.
  fs::rename(in / "vocab.json", in / "notes.json");
  fs::rename(in / "extra" / "escape", in / "escape.txt");
  qf_test::write_text(in / "tokenizer.json", "{}");
  cli_ok("convert -q " + quote(in) + " " + quote(tmp / "out") + "/");
}

// Every file of a folder output is complete before any is published: when one carried file cannot
// be written, none of them appears (the weights included), and an existing folder keeps what it held.
BOOST_AUTO_TEST_CASE(a_carried_file_that_cannot_be_written_leaves_nothing) {
  qf_test::TempDir tmp;
  const fs::path in = write_checkpoint(tmp / "in", {"lm_head.weight"});
  fs::create_directories(tmp / "out" / "tokenizer.json");
  const auto r = qf_test::cli("convert " + quote(in) + " " + quote(tmp / "out") + "/");
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(
      r.err, "quantflow: error: " + (tmp / "out" / "tokenizer.json").string() + ": the output path is a directory\n");
  BOOST_CHECK((qf_test::listing(tmp / "out") == std::vector<std::string>{"tokenizer.json"}));
}

// A folder the run created is taken away again when the run fails.
BOOST_AUTO_TEST_CASE(a_failed_run_removes_the_folder_it_created) {
  qf_test::TempDir tmp;
  const fs::path in = write_checkpoint(tmp / "in", {"lm_head.weight"});
  // A NaN that MLX's affine groups cannot carry fails the run while the weights are written.
  std::vector<Part> parts = {{"w.weight", "F16", {4, 128}, std::vector<uint8_t>(4 * 128 * 2, 0)}};
  parts[0].data[2 * 300 + 1] = 0x7E;  // element 300: f16 0x7E00, a NaN
  write_folder(in, {{"model_type", "llama"}}, parts);
  const auto failed = qf_test::cli("convert " + quote(in) + " " + quote(tmp / "new") + "/ --type mlx_q4");
  BOOST_CHECK_EQUAL(failed.exit_code, 2);
  BOOST_CHECK_NE(failed.err.find("NaN"), std::string::npos);
  BOOST_CHECK_MESSAGE(!fs::exists(tmp / "new"), failed.err);
}
