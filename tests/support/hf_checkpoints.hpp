// Hugging Face checkpoint folders built by hand for the HF -> GGUF tests, from the documents
// (hf-to-gguf.md §1 names, §4 tokenizers): llama / qwen2 / qwen3 tensors with random weights,
// config.json, a SentencePiece tokenizer.model written in protobuf's wire format, and a fast
// tokenizer's tokenizer.json with a byte-level BPE vocabulary.
#pragma once

#include <bit>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/model_folders.hpp"

namespace qf_hf {

namespace fs = std::filesystem;
using qf_folder::Part;

// ---- protobuf wire format (what sentencepiece_model.proto's messages look like on disk) ----
inline void put_varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}
inline void put_bytes_field(std::vector<uint8_t>& out, uint32_t field, const std::vector<uint8_t>& bytes) {
  put_varint(out, field << 3 | 2);
  put_varint(out, bytes.size());
  out.insert(out.end(), bytes.begin(), bytes.end());
}

struct SpPiece {
  std::string text;
  float score = 0.0f;
  int type = 1;  // 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
};

// A ModelProto: the pieces (field 1), plus a trainer_spec (field 2) and normalizer_spec
// (field 3) a reader must skip.
inline std::vector<uint8_t> sentencepiece_model(const std::vector<SpPiece>& pieces) {
  std::vector<uint8_t> out;
  for (const auto& p : pieces) {
    std::vector<uint8_t> piece;
    put_bytes_field(piece, 1, std::vector<uint8_t>(p.text.begin(), p.text.end()));
    put_varint(piece, 2 << 3 | 5);
    qf_folder::put_le(piece, std::bit_cast<uint32_t>(p.score));
    if (p.type != 1) {
      put_varint(piece, 3 << 3 | 0);
      put_varint(piece, static_cast<uint64_t>(p.type));
    }
    put_bytes_field(out, 1, piece);
  }
  std::vector<uint8_t> trainer;
  put_varint(trainer, 40 << 3 | 0);  // unk_id = 0
  put_varint(trainer, 0);
  put_bytes_field(out, 2, trainer);
  std::vector<uint8_t> normalizer;
  put_bytes_field(normalizer, 1, {'n', 'm', 't', '_', 'n', 'f', 'k', 'c'});
  put_bytes_field(out, 3, normalizer);
  return out;
}

// llama-2's layout: <unk>, <s>, </s>, the 256 byte pieces, then "▁a", "▁b", ... up to `size`.
inline std::vector<SpPiece> sentencepiece_vocab(size_t size) {
  std::vector<SpPiece> pieces = {{"<unk>", 0, 2}, {"<s>", 0, 3}, {"</s>", 0, 3}};
  for (int b = 0; b < 256; ++b) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "<0x%02X>", b);
    pieces.push_back({hex, 0, 6});
  }
  for (size_t i = 0; pieces.size() < size; ++i)
    pieces.push_back({"\xe2\x96\x81" + std::string(1, static_cast<char>('a' + i % 26)) + std::to_string(i / 26),
                      -static_cast<float>(i) - 1.0f, 1});
  return pieces;
}

// ---- byte-level BPE (GPT-2's byte -> character table) ----
// Printable Latin-1 bytes stand for themselves; the others map to U+0100 onwards in order.
inline std::string byte_level_char(uint8_t byte) {
  auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
  uint32_t code = byte;
  if (!printable(byte)) {
    code = 256;
    for (int b = 0; b < byte; ++b)
      if (!printable(b)) ++code;
  }
  std::string out;
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else {
    out += static_cast<char>(0xC0 | code >> 6);
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
  return out;
}

struct AddedToken {
  uint64_t id;
  std::string content;
  bool special;
};

// A fast tokenizer: the 256 byte characters (ids 0..255), then "Ġt" (256), "he" (257),
// "Ġthe" (258), "a b" (259, a merge part holding a space); merges in the newer pair format;
// the added tokens; a TemplateProcessing that puts `bos` before a single sequence.
inline nlohmann::json byte_level_tokenizer_json(const std::vector<AddedToken>& added, const std::string& bos) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level_char(static_cast<uint8_t>(b))] = b;
  const std::string G = byte_level_char(' ');  // "Ġ"
  vocab[G + "t"] = 256;
  vocab["he"] = 257;
  vocab[G + "the"] = 258;
  vocab["a b"] = 259;
  nlohmann::json added_tokens = nlohmann::json::array();
  for (const auto& a : added) {
    nlohmann::json token = nlohmann::json::object();
    token["id"] = a.id;
    token["content"] = a.content;
    token["normalized"] = false;
    token["special"] = a.special;
    added_tokens.push_back(token);
  }
  // Built key by key: nested braces of two-element lists would read as objects.
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& [left, right] :
       std::vector<std::pair<std::string, std::string>>{{G, "t"}, {"h", "e"}, {G + "t", "he"}, {"a", " b"}})
    merges.push_back(nlohmann::json::array({left, right}));
  nlohmann::json model = nlohmann::json::object();
  model["type"] = "BPE";
  model["byte_fallback"] = false;
  model["vocab"] = vocab;
  model["merges"] = merges;
  nlohmann::json single = nlohmann::json::array();
  single.push_back(nlohmann::json::object());
  single[0]["SpecialToken"] = {{"id", bos}, {"type_id", 0}};
  single.push_back(nlohmann::json::object());
  single[1]["Sequence"] = {{"id", "A"}, {"type_id", 0}};
  nlohmann::json tokenizer = nlohmann::json::object();
  tokenizer["version"] = "1.0";
  tokenizer["added_tokens"] = added_tokens;
  tokenizer["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  tokenizer["post_processor"] = nlohmann::json::object();
  tokenizer["post_processor"]["type"] = "TemplateProcessing";
  tokenizer["post_processor"]["single"] = single;
  tokenizer["decoder"] = {{"type", "ByteLevel"}};
  tokenizer["model"] = model;
  return tokenizer;
}

// ---- tensors ----
struct Dims {
  uint64_t layers = 2, hidden = 256, ffn = 512, heads = 4, kv_heads = 2, vocab = 300, head_dim = 0;
  uint64_t q_rows() const { return heads * (head_dim ? head_dim : hidden / heads); }
  uint64_t kv_rows() const { return kv_heads * (head_dim ? head_dim : hidden / heads); }
};

struct Family {
  std::string hf_class;   // LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM
  bool qkv_bias = false;  // qwen2
  bool qk_norm = false;   // qwen3
  bool lm_head = true;    // false: tied embeddings
};

inline void add(std::vector<Part>& parts, const std::string& name, std::vector<uint64_t> shape,
                const std::string& dtype, std::mt19937& rng) {
  qf_folder::append_parts(parts, qf_folder::plain_tensor(name, shape, dtype, rng));
}

// Matrices in `dtype`, norms in `norm_dtype`, in the name order transformers writes (sorted).
inline std::vector<Part> decoder_tensors(const Family& f, const Dims& d, const std::string& dtype,
                                         const std::string& norm_dtype, std::mt19937& rng) {
  std::vector<Part> parts;
  if (f.lm_head) add(parts, "lm_head.weight", {d.vocab, d.hidden}, dtype, rng);
  add(parts, "model.embed_tokens.weight", {d.vocab, d.hidden}, dtype, rng);
  for (uint64_t l = 0; l < d.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(parts, p + "input_layernorm.weight", {d.hidden}, norm_dtype, rng);
    add(parts, p + "mlp.down_proj.weight", {d.hidden, d.ffn}, dtype, rng);
    add(parts, p + "mlp.gate_proj.weight", {d.ffn, d.hidden}, dtype, rng);
    add(parts, p + "mlp.up_proj.weight", {d.ffn, d.hidden}, dtype, rng);
    add(parts, p + "post_attention_layernorm.weight", {d.hidden}, norm_dtype, rng);
    if (f.qkv_bias) add(parts, p + "self_attn.k_proj.bias", {d.kv_rows()}, dtype, rng);
    add(parts, p + "self_attn.k_proj.weight", {d.kv_rows(), d.hidden}, dtype, rng);
    if (f.qk_norm) add(parts, p + "self_attn.k_norm.weight", {d.q_rows() / d.heads}, norm_dtype, rng);
    add(parts, p + "self_attn.o_proj.weight", {d.hidden, d.q_rows()}, dtype, rng);
    if (f.qkv_bias) add(parts, p + "self_attn.q_proj.bias", {d.q_rows()}, dtype, rng);
    add(parts, p + "self_attn.q_proj.weight", {d.q_rows(), d.hidden}, dtype, rng);
    if (f.qk_norm) add(parts, p + "self_attn.q_norm.weight", {d.q_rows() / d.heads}, norm_dtype, rng);
    if (f.qkv_bias) add(parts, p + "self_attn.v_proj.bias", {d.kv_rows()}, dtype, rng);
    add(parts, p + "self_attn.v_proj.weight", {d.kv_rows(), d.hidden}, dtype, rng);
  }
  add(parts, "model.norm.weight", {d.hidden}, norm_dtype, rng);
  return parts;
}

inline nlohmann::json decoder_config(const Family& f, const Dims& d) {
  nlohmann::json config = {{"architectures", {f.hf_class}},
                           {"hidden_size", d.hidden},
                           {"intermediate_size", d.ffn},
                           {"num_hidden_layers", d.layers},
                           {"num_attention_heads", d.heads},
                           {"num_key_value_heads", d.kv_heads},
                           {"max_position_embeddings", 2048},
                           {"rms_norm_eps", 1e-6},
                           {"rope_theta", 1000000.0},
                           {"vocab_size", d.vocab},
                           {"tie_word_embeddings", !f.lm_head},
                           {"bos_token_id", 1},
                           {"eos_token_id", 2}};
  if (d.head_dim) config["head_dim"] = d.head_dim;
  return config;
}

// config.json and model.safetensors of a decoder checkpoint (no tokenizer).
inline fs::path write_checkpoint(const fs::path& dir, const Family& f, const Dims& d, const std::string& dtype,
                                 const std::string& norm_dtype, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  return qf_folder::write_folder(dir, decoder_config(f, d), decoder_tensors(f, d, dtype, norm_dtype, rng));
}

// tokenizer.model of `size` pieces and a llama-2 tokenizer_config.json.
inline void write_sentencepiece_tokenizer(const fs::path& dir, size_t size) {
  qf_folder::write_file(dir / "tokenizer.model", sentencepiece_model(sentencepiece_vocab(size)));
  qf_test::write_text(dir / "tokenizer_config.json",
                      R"({"add_bos_token": true, "add_eos_token": false, "bos_token": "<s>", "eos_token": "</s>"})");
}

}  // namespace qf_hf

namespace qf_hf {

// ---- Mixtral (hf-to-gguf.md §1.1): llama attention with a sparse-MoE block per layer ----
struct Experts {
  uint64_t count = 4, used = 2;
};

// The expert tensors of one layer in the name order transformers writes (experts.E.w1..w3,
// then the router `gate`), for expert counts below 10 (so that sorting keeps expert order).
inline void add_moe_block(std::vector<Part>& parts, const std::string& layer_prefix, const Dims& d, const Experts& e,
                          const std::string& dtype, std::mt19937& rng) {
  const std::string p = layer_prefix + "block_sparse_moe.";
  for (uint64_t x = 0; x < e.count; ++x) {
    const std::string expert = p + "experts." + std::to_string(x) + ".";
    add(parts, expert + "w1.weight", {d.ffn, d.hidden}, dtype, rng);
    add(parts, expert + "w2.weight", {d.hidden, d.ffn}, dtype, rng);
    add(parts, expert + "w3.weight", {d.ffn, d.hidden}, dtype, rng);
  }
  add(parts, p + "gate.weight", {e.count, d.hidden}, dtype, rng);
}

// A MixtralForCausalLM checkpoint's tensors: the llama ones with each layer's mlp replaced by
// the MoE block.
inline std::vector<Part> mixtral_tensors(const Dims& d, const Experts& e, const std::string& dtype,
                                         const std::string& norm_dtype, std::mt19937& rng) {
  std::vector<Part> parts;
  add(parts, "lm_head.weight", {d.vocab, d.hidden}, dtype, rng);
  add(parts, "model.embed_tokens.weight", {d.vocab, d.hidden}, dtype, rng);
  for (uint64_t l = 0; l < d.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add_moe_block(parts, p, d, e, dtype, rng);
    add(parts, p + "input_layernorm.weight", {d.hidden}, norm_dtype, rng);
    add(parts, p + "post_attention_layernorm.weight", {d.hidden}, norm_dtype, rng);
    add(parts, p + "self_attn.k_proj.weight", {d.kv_rows(), d.hidden}, dtype, rng);
    add(parts, p + "self_attn.o_proj.weight", {d.hidden, d.q_rows()}, dtype, rng);
    add(parts, p + "self_attn.q_proj.weight", {d.q_rows(), d.hidden}, dtype, rng);
    add(parts, p + "self_attn.v_proj.weight", {d.kv_rows(), d.hidden}, dtype, rng);
  }
  add(parts, "model.norm.weight", {d.hidden}, norm_dtype, rng);
  return parts;
}

inline nlohmann::json mixtral_config(const Dims& d, const Experts& e) {
  nlohmann::json config = decoder_config({.hf_class = "MixtralForCausalLM"}, d);
  config["num_local_experts"] = e.count;
  config["num_experts_per_tok"] = e.used;
  return config;
}

}  // namespace qf_hf
