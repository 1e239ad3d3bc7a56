// The pieces of llama/hf_checkpoint that need no model: the converter's size labels and
// names, the SentencePiece wire format and its errors, merges.txt, special-looking tokens,
// the pre-tokenizer rules and the storage types (hf-to-gguf.md §3.1, §3.4, §4).
#include <cstring>

#include "pipeline/llama/hf_checkpoint/model_keys.hpp"
#include "pipeline/llama/hf_checkpoint/storage_types.hpp"
#include "pipeline/llama/hf_checkpoint/tokenizer_bpe.hpp"
#include "pipeline/llama/hf_checkpoint/tokenizer_spm.hpp"
#include "support/hf_checkpoints.hpp"

using namespace quantflow;
using namespace quantflow::pipeline::hf;

namespace {

std::vector<std::byte> as_bytes(const std::vector<uint8_t>& v) {
  std::vector<std::byte> out(v.size());
  if (!v.empty()) std::memcpy(out.data(), v.data(), v.size());  // memcpy from an empty vector's null is UB
  return out;
}

std::string parse_error(const std::vector<uint8_t>& bytes) {
  auto r = parse_sentencepiece_model(as_bytes(bytes));
  return r.ok() ? "" : r.status().to_string();
}

Checkpoint checkpoint_of(const std::string& hf_class, const std::string& architecture) {
  Checkpoint c;
  c.hf_class = hf_class;
  c.arch.architecture = architecture;
  c.config = nlohmann::json::object();
  return c;
}

}  // namespace

BOOST_AUTO_TEST_CASE(size_labels_keep_two_significant_digits) {
  BOOST_CHECK_EQUAL(size_label(513048), "513K");
  BOOST_CHECK_EQUAL(size_label(2168), "2.2K");
  BOOST_CHECK_EQUAL(size_label(500), "0.50K");
  BOOST_CHECK_EQUAL(size_label(134515008), "135M");
  BOOST_CHECK_EQUAL(size_label(1235814400), "1.2B");
  BOOST_CHECK_EQUAL(size_label(8030261248), "8.0B");
  BOOST_CHECK_EQUAL(size_label(70553706496), "71B");
  BOOST_CHECK_EQUAL(size_label(1500000000000), "1.5T");
}

BOOST_AUTO_TEST_CASE(names_come_from_the_folder_in_title_case) {
  BOOST_CHECK_EQUAL(title_from_folder_name("llama-2-tiny-random"), "Llama 2 Tiny Random");
  BOOST_CHECK_EQUAL(title_from_folder_name("hf-tiny"), "Hf Tiny");
  BOOST_CHECK_EQUAL(title_from_folder_name("Qwen2.5-0.5B-Instruct"), "Qwen2.5 0.5B Instruct");  // mixed case stays
  BOOST_CHECK_EQUAL(title_from_folder_name("tiny-gpt2"), "Tiny Gpt2");
  BOOST_CHECK_EQUAL(title_from_folder_name("model-v1.5-base"), "Model v1.5 Base");  // versions stay
}

BOOST_AUTO_TEST_CASE(sentencepiece_pieces_are_read_from_the_wire_format) {
  const auto model = qf_hf::sentencepiece_model({{"<unk>", 0, 2}, {"<s>", 0, 3}, {"\xe2\x96\x81the", -1.5f, 1}});
  auto pieces = parse_sentencepiece_model(as_bytes(model));
  BOOST_REQUIRE_MESSAGE(pieces.ok(), pieces.status().to_string());
  BOOST_REQUIRE_EQUAL(pieces->size(), 3u);  // trainer_spec and normalizer_spec are skipped
  BOOST_CHECK_EQUAL((*pieces)[0].text, "<unk>");
  BOOST_CHECK(static_cast<int>((*pieces)[0].type) == 2);
  BOOST_CHECK(static_cast<int>((*pieces)[1].type) == 3);
  BOOST_CHECK_EQUAL((*pieces)[2].text, "\xe2\x96\x81the");
  BOOST_CHECK_EQUAL((*pieces)[2].score, -1.5f);
  BOOST_CHECK(static_cast<int>((*pieces)[2].type) == 1);  // absent: the field's default

  BOOST_CHECK_EQUAL(parse_error({0x0a, 0x05, 0x0a}), "truncated piece at byte 2");
  BOOST_CHECK_EQUAL(parse_error({0x0a}), "truncated varint at byte 1");
  BOOST_CHECK_EQUAL(parse_error({0x0b}), "wire type 3 at byte 1 (not a SentencePiece model)");
  BOOST_CHECK_EQUAL(parse_error({0x0a, 0x02, 0x18, 0x09}), "piece type 9 at byte 4");
  BOOST_CHECK_EQUAL(parse_error({0x10, 0x01}), "no pieces (not a SentencePiece model)");
  BOOST_CHECK_EQUAL(parse_error({}), "no pieces (not a SentencePiece model)");
  BOOST_CHECK_EQUAL(parse_error(std::vector<uint8_t>(11, 0xff)), "a varint longer than 10 bytes at byte 10");
}

BOOST_AUTO_TEST_CASE(merges_txt_skips_its_version_line_and_malformed_lines) {
  BOOST_CHECK(parse_merges_txt("#version: 0.2\n\xc4\xa0 l\ne r\nbad\na b c\n\nx y\n") ==
              (std::vector<std::string>{"\xc4\xa0 l", "e r", "x y"}));
  BOOST_CHECK(parse_merges_txt("a b\n#c d\n") == (std::vector<std::string>{"a b", "#c d"}));  // only line 1 is a header
}

BOOST_AUTO_TEST_CASE(added_tokens_that_look_special_are_control_tokens) {
  for (const char* special : {"<|im_start|>",
                              "<\xef\xbd\x9c"
                              "begin\xef\xbd\x9c>",
                              "<unused12>", "<pad>", "<mask>", "<2mass>", "[@BOS@]"})
    BOOST_CHECK_MESSAGE(looks_special(special), special);
  for (const char* plain : {"<s>", "<|", "|>", "<|x", "hello", "<unused"})
    BOOST_CHECK_MESSAGE(!looks_special(plain), plain);
  Vocabulary v;
  v.pad_to(3, true);
  BOOST_CHECK_EQUAL(v.tokens[2], "[PAD2]");
  BOOST_CHECK_EQUAL(v.scores[2], -10000.0f);
  set_added_token(v, 0, "\xe2\x96\x81hi\xe2\x96\x81there", false);
  set_added_token(v, 1, "\xe2\x96\x81<|x|>", true);
  BOOST_CHECK_EQUAL(v.tokens[0], " hi there");
  BOOST_CHECK(v.types[0] == TokenType::user_defined);
  BOOST_CHECK_EQUAL(v.tokens[1], "\xe2\x96\x81<|x|>");  // control tokens keep their text
  BOOST_CHECK(v.types[1] == TokenType::control);
  BOOST_CHECK_EQUAL(v.scores[1], -1000.0f);
}

BOOST_AUTO_TEST_CASE(the_pre_tokenizer_follows_the_family) {
  BOOST_CHECK_EQUAL(pre_tokenizer_of(checkpoint_of("GPT2Model", "gpt2"), 21), "gpt-2");
  BOOST_CHECK_EQUAL(pre_tokenizer_of(checkpoint_of("Qwen3ForCausalLM", "qwen3"), 151936), "qwen2");
  Checkpoint distill = checkpoint_of("Qwen2ForCausalLM", "qwen2");
  distill.config["_name_or_path"] = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B";
  BOOST_CHECK_EQUAL(pre_tokenizer_of(distill, 151936), "deepseek-r1-qwen");
  BOOST_CHECK_EQUAL(pre_tokenizer_of(checkpoint_of("LlamaForCausalLM", "llama"), 128256), "llama-bpe");
  BOOST_CHECK_EQUAL(pre_tokenizer_of(checkpoint_of("LlamaForCausalLM", "llama"), 49152), "smollm");
  BOOST_CHECK_EQUAL(pre_tokenizer_of(checkpoint_of("MistralForCausalLM", "llama"), 131072), "tekken");
  BOOST_CHECK_EQUAL(pre_tokenizer_of(checkpoint_of("LlamaForCausalLM", "llama"), 32000), "");
}

BOOST_AUTO_TEST_CASE(storage_types_follow_the_converter) {
  auto fixed = [](const std::string& name, Shape shape, const std::string& requested) {
    TensorInfo tensor;
    tensor.name = name;
    tensor.shape = std::move(shape);
    return fixed_encoding_name(tensor, requested);
  };
  BOOST_CHECK_EQUAL(fixed("blk.0.attn_norm.weight", {4096}, "q8_0"), "f32");
  BOOST_CHECK_EQUAL(fixed("blk.0.attn_q.bias", {4096}, "f16"), "f32");
  BOOST_CHECK_EQUAL(fixed("position_embd.weight", {1024, 768}, "f16"), "f32");
  BOOST_CHECK_EQUAL(fixed("blk.0.ffn_gate_inp.weight", {8, 4096}, "bf16"), "f32");
  BOOST_CHECK_EQUAL(fixed("blk.0.attn_q.weight", {4096, 4096}, "f16"), "");
  BOOST_CHECK_EQUAL(fixed("token_embd.weight", {32000, 4096}, "tq2_0"), "f16");
  BOOST_CHECK_EQUAL(fixed("output.weight", {32000, 4096}, "tq1_0"), "f16");
  BOOST_CHECK_EQUAL(fixed("token_embd.weight", {32000, 4096}, "q8_0"), "");
}
