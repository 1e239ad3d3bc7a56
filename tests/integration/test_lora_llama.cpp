// LoRA adapters of llama-family bases, built by hand (docs/hf.md, "LoRA adapters"): lora_b of
// q_proj and k_proj gets the base's rotary row reorder (K over num_key_value_heads) and the
// merged weights then equal the reordered merge PEFT defines; qwen2 reorders nothing; rsLoRA
// and rank_pattern get llama.cpp's one alpha right; every adapter_config.json setting and
// tensor a GGUF LoRA cannot hold is refused in one line naming the file, key or tensor.
#include "support/hf_checkpoints.hpp"
#include "support/lora_adapters.hpp"

using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kRank = 4;
constexpr double kAlpha = 8;
const qf_hf::Dims kDims{.layers = 2, .hidden = 64, .ffn = 128, .heads = 4, .kv_heads = 2, .vocab = 100};

struct Target {
  const char* module;  // under model.layers.N.self_attn.
  const char* gguf;
  uint64_t rows;
  uint64_t rotary_heads;  // llama: the heads its rows are reordered over; 0: none
};
const Target kTargets[] = {
    {"q_proj", "attn_q", kDims.q_rows(), kDims.heads},
    {"k_proj", "attn_k", kDims.kv_rows(), kDims.kv_heads},
    {"v_proj", "attn_v", kDims.kv_rows(), 0},
};

std::string peft_name(uint64_t layer, const std::string& module, char half) {
  return "base_model.model.model.layers." + std::to_string(layer) + ".self_attn." + module + ".lora_" + half +
         ".weight";
}

// Random pairs for every target of both layers (`v_rank` for v_proj), by PEFT name.
std::map<std::string, qf_lora::Matrix> random_pairs(uint64_t v_rank = kRank) {
  std::mt19937 rng(11);
  std::map<std::string, qf_lora::Matrix> out;
  for (uint64_t layer = 0; layer < kDims.layers; ++layer)
    for (const Target& t : kTargets) {
      const uint64_t rank = std::string(t.module) == "v_proj" ? v_rank : kRank;
      out[peft_name(layer, t.module, 'A')] = qf_lora::random_matrix(rank, kDims.hidden, rng);
      out[peft_name(layer, t.module, 'B')] = qf_lora::random_matrix(t.rows, rank, rng);
    }
  return out;
}

std::vector<qf_folder::Part> parts_of(const std::map<std::string, qf_lora::Matrix>& pairs) {
  std::vector<qf_folder::Part> parts;
  for (const auto& [name, m] : pairs) parts.push_back(qf_lora::f32_part(name, m));
  return parts;
}

fs::path write_base(const fs::path& dir, const std::string& hf_class) {
  fs::create_directories(dir);
  qf_test::write_text(dir / "config.json", qf_hf::decoder_config({.hf_class = hf_class}, kDims).dump(2));
  return dir;
}

json llama_lora_config() { return qf_lora::lora_config(kRank, kAlpha, {"q_proj", "k_proj", "v_proj"}, false); }

qf_test::CommandResult convert(const fs::path& adapter, const fs::path& base, const fs::path& out,
                               const std::string& options = "") {
  return cli("convert " + quote(adapter) + " " + quote(out) + " --base " + quote(base) + " " + options);
}

qf_lora::Matrix written_matrix(const fs::path& gguf, const std::string& name) {
  auto reader = qf_test::plugins().open_reader(gguf.string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  for (size_t i = 0; i < (*reader)->tensors().size(); ++i)
    if ((*reader)->tensors()[i].name == name) {
      auto data = (*reader)->read(i);
      BOOST_REQUIRE(data.ok());
      const auto* p = reinterpret_cast<const uint8_t*>(data->bytes.data());
      return qf_lora::f32_matrix((*reader)->tensors()[i].shape, std::vector<uint8_t>(p, p + data->bytes.size()));
    }
  BOOST_FAIL("no tensor " << name << " in " << gguf);
  return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(llama_pairs_take_the_bases_rotary_reorder_and_qwen2_pairs_none) {
  qf_test::TempDir dir;
  const auto pairs = random_pairs();
  const fs::path adapter = qf_lora::write_adapter(dir / "llama-adapter", llama_lora_config(), parts_of(pairs));
  for (const char* hf_class : {"LlamaForCausalLM", "Qwen2ForCausalLM"}) {
    const bool llama = std::string(hf_class) == "LlamaForCausalLM";
    const fs::path base = write_base(dir / hf_class, hf_class), out = dir / (std::string(hf_class) + ".gguf");
    auto r = convert(adapter, base, out);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto metadata = qf_test::metadata_of(out);
    BOOST_CHECK_EQUAL(metadata.find("general.architecture")->text, llama ? "llama" : "qwen2");
    BOOST_CHECK_EQUAL(metadata.find("general.name")->text, "Llama Adapter");
    BOOST_CHECK_EQUAL(metadata.find("adapter.lora.alpha")->real, kAlpha);
    BOOST_CHECK_EQUAL(qf_test::tensors_of(out).size(), 2 * 3 * kDims.layers);
    std::mt19937 rng(5);
    for (uint64_t layer = 0; layer < kDims.layers; ++layer)
      for (const Target& t : kTargets) {
        const std::string gguf = "blk." + std::to_string(layer) + "." + t.gguf + ".weight";
        const qf_lora::Matrix& A = pairs.at(peft_name(layer, t.module, 'A'));
        const qf_lora::Matrix& B = pairs.at(peft_name(layer, t.module, 'B'));
        const uint64_t heads = llama ? t.rotary_heads : 0;
        const auto reorder = [&](const qf_lora::Matrix& m) {
          return heads ? qf_lora::rotary_interleaved(m, heads) : m;
        };
        const qf_lora::Matrix lora_a = written_matrix(out, gguf + ".lora_a");
        const qf_lora::Matrix lora_b = written_matrix(out, gguf + ".lora_b");
        BOOST_CHECK(lora_a.values == A.values);
        BOOST_CHECK_MESSAGE(lora_b.values == reorder(B).values, gguf << ".lora_b");
        // The GGUF base is the HF weight with its rows reordered: adding the written pair to it
        // gives the reordered PEFT merge W + B·A·alpha/r.
        const qf_lora::Matrix w = qf_lora::random_matrix(t.rows, kDims.hidden, rng);
        const double scale = kAlpha / kRank;
        const qf_lora::Matrix peft_merged = qf_lora::plus_scaled(w, qf_lora::product(B, A), scale);
        const qf_lora::Matrix gguf_merged = qf_lora::plus_scaled(
            reorder(w), qf_lora::product(lora_b, lora_a), metadata.find("adapter.lora.alpha")->real / lora_a.rows);
        BOOST_CHECK_LT(qf_lora::max_difference(gguf_merged, reorder(peft_merged)), 1e-6);
      }
  }
}

BOOST_AUTO_TEST_CASE(rslora_and_rank_patterns_get_llama_cpps_scale) {
  qf_test::TempDir dir;
  const fs::path base = write_base(dir / "base", "LlamaForCausalLM");
  // rsLoRA scales by alpha / sqrt(r); llama.cpp divides adapter.lora.alpha by the rank.
  json config = llama_lora_config();
  config["use_rslora"] = true;
  const fs::path rslora = qf_lora::write_adapter(dir / "rslora", config, parts_of(random_pairs()));
  auto r = convert(rslora, base, dir / "rslora.gguf");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_CHECK_EQUAL(qf_test::metadata_of(dir / "rslora.gguf").find("adapter.lora.alpha")->real,
                    kAlpha * std::sqrt(static_cast<double>(kRank)));
  // v_proj at rank 2: llama.cpp takes each pair's rank from its shape, so one alpha serves.
  const auto ranked = parts_of(random_pairs(2));
  config = llama_lora_config();
  config["rank_pattern"] = {{"v_proj", 2}};
  r = convert(qf_lora::write_adapter(dir / "ranked", config, ranked), base, dir / "ranked.gguf");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_CHECK_EQUAL(written_matrix(dir / "ranked.gguf", "blk.1.attn_v.weight.lora_a").rows, 2u);
  // Without the pattern a rank other than r is an error.
  const fs::path unranked = qf_lora::write_adapter(dir / "unranked", llama_lora_config(), ranked);
  r = convert(unranked, base, dir / "unranked.gguf");
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + (unranked / "adapter_model.safetensors").string() +
                               ": tensor 'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight': rank 2, but "
                               "adapter_config.json's r is 4 and it has no rank_pattern\n");
}

BOOST_AUTO_TEST_CASE(settings_a_gguf_lora_cannot_hold_are_refused_by_name) {
  qf_test::TempDir dir;
  const fs::path base = write_base(dir / "base", "LlamaForCausalLM");
  const auto parts = parts_of(random_pairs());
  struct Case {
    const char* key;
    json value;
    std::string reason;
  };
  const Case cases[] = {
      {"use_dora", true,
       "use_dora is true: DoRA's magnitude vectors have no place in a GGUF LoRA (llama.cpp applies plain LoRA)"},
      {"alpha_pattern",
       {{"q_proj", 16}},
       "alpha_pattern is {\"q_proj\":16}: per-module alphas; a GGUF LoRA holds one adapter.lora.alpha"},
      {"lora_bias", true, "lora_bias is true: lora_B's bias has no place in a GGUF LoRA"},
      {"bias", "all", "bias is \"all\": trained biases are full tensors, which a GGUF LoRA cannot hold"},
      {"peft_type", "IA3", "peft_type is \"IA3\": only LORA adapters convert to a GGUF LoRA"},
      {"lora_alpha", 0,
       "lora_alpha is 0: llama.cpp reads adapter.lora.alpha 0 as unset and would apply the adapter "
       "at scale 1, where PEFT applies it at scale 0"},
      {"r", "eight", "r is \"eight\", not a rank (a positive integer)"},
      {"init_lora_weights", "pissa_niter_4",
       "init_lora_weights is 'pissa_niter_4': it rewrites the base weights when the adapter is made, so the adapter "
       "does not apply to the base model as published (PEFT's path_initial_model_for_weight_conversion turns it into "
       "a plain LoRA)"},
      {"alora_invocation_tokens", {7, 8}, "alora_invocation_tokens is [7,8]: activated LoRA (aLoRA) is not converted"},
  };
  int n = 0;
  for (const Case& c : cases) {
    json config = llama_lora_config();
    config[c.key] = c.value;
    const fs::path adapter = qf_lora::write_adapter(dir / ("case" + std::to_string(n++)), config, parts);
    auto r = convert(adapter, base, dir / "out.gguf");
    BOOST_CHECK_EQUAL(r.exit_code, 2);
    BOOST_CHECK_EQUAL(r.err,
                      "quantflow: error: " + (adapter / "adapter_config.json").string() + ": " + c.reason + "\n");
  }
  json config = llama_lora_config();
  config["use_rslora"] = true;
  config["rank_pattern"] = {{"v_proj", 2}};
  auto r = convert(qf_lora::write_adapter(dir / "rslora-ranks", config, parts), base, dir / "out.gguf");
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_MESSAGE(r.err.find("use_rslora with a rank_pattern: rsLoRA scales each pair by alpha / sqrt(its rank), "
                                 "which one adapter.lora.alpha cannot give for several ranks\n") != std::string::npos,
                      r.err);
  BOOST_CHECK(!fs::exists(dir / "out.gguf"));
}

BOOST_AUTO_TEST_CASE(tensors_a_gguf_lora_cannot_hold_are_refused_by_name) {
  qf_test::TempDir dir;
  const fs::path base = write_base(dir / "base", "LlamaForCausalLM");
  std::mt19937 rng(2);
  const std::string layers = "base_model.model.model.layers.";
  struct Case {
    std::vector<qf_folder::Part> extra;  // beside the good pairs
    std::string tensor, reason;
  };
  const Case cases[] = {
      {{qf_lora::f32_part("base_model.model.lm_head.weight", qf_lora::random_matrix(100, 64, rng))},
       "base_model.model.lm_head.weight",
       "a full [100, 64] tensor, not a LoRA pair: a GGUF LoRA can only add lora_b·lora_a to the base's output.weight, "
       "not replace it"},
      {{qf_lora::f32_part(layers + "0.mlp.up_proj.lora_A.weight", qf_lora::random_matrix(4, 64, rng))},
       layers + "0.mlp.up_proj.lora_A.weight",
       "lora_A without its lora_B"},
      {{qf_lora::f32_part(layers + "0.mlp.extra_proj.lora_A.weight", qf_lora::random_matrix(4, 64, rng)),
        qf_lora::f32_part(layers + "0.mlp.extra_proj.lora_B.weight", qf_lora::random_matrix(64, 4, rng))},
       layers + "0.mlp.extra_proj.lora_A.weight",
       "the adapted weight 'model.layers.0.mlp.extra_proj.weight' has no GGUF name in llama.cpp's llama layout"},
      {{qf_lora::f32_part(layers + "5.mlp.up_proj.lora_A.weight", qf_lora::random_matrix(4, 64, rng)),
        qf_lora::f32_part(layers + "5.mlp.up_proj.lora_B.weight", qf_lora::random_matrix(128, 4, rng))},
       layers + "5.mlp.up_proj.lora_A.weight",
       "the base model has 2 layers (config.json), no layer 5"},
      {{qf_lora::f32_part("base_model.model.model.embed_tokens.lora_embedding_A", qf_lora::random_matrix(4, 100, rng))},
       "base_model.model.model.embed_tokens.lora_embedding_A",
       "a LoRA on an embedding (lora_embedding_A / lora_embedding_B) is not converted"},
  };
  int n = 0;
  for (const Case& c : cases) {
    auto parts = parts_of(random_pairs());
    parts.insert(parts.end(), c.extra.begin(), c.extra.end());
    const fs::path adapter = qf_lora::write_adapter(dir / ("case" + std::to_string(n++)), llama_lora_config(), parts);
    auto r = convert(adapter, base, dir / "out.gguf");
    BOOST_CHECK_EQUAL(r.exit_code, 2);
    BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + (adapter / "adapter_model.safetensors").string() + ": tensor '" +
                                 c.tensor + "': " + c.reason + "\n");
  }
  // A pair for lm_head over a base that ties it to the embeddings has no output.weight to adapt.
  fs::create_directories(dir / "tied");
  qf_test::write_text(dir / "tied" / "config.json",
                      qf_hf::decoder_config({.hf_class = "LlamaForCausalLM", .lm_head = false}, kDims).dump(2));
  auto parts = parts_of(random_pairs());
  parts.push_back(qf_lora::f32_part("base_model.model.lm_head.lora_A.weight", qf_lora::random_matrix(4, 64, rng)));
  parts.push_back(qf_lora::f32_part("base_model.model.lm_head.lora_B.weight", qf_lora::random_matrix(100, 4, rng)));
  const fs::path head = qf_lora::write_adapter(dir / "head", llama_lora_config(), parts);
  auto r = convert(head, dir / "tied", dir / "out.gguf");
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + (head / "adapter_model.safetensors").string() +
                               ": tensor 'base_model.model.lm_head.lora_A.weight': the base ties its output to the "
                               "token embeddings (tie_word_embeddings), so its GGUF has no output.weight for this pair "
                               "to adapt\n");
  // Untied, the same adapter converts.
  BOOST_CHECK_EQUAL(convert(head, base, dir / "untied.gguf").exit_code, 0);
  BOOST_CHECK_EQUAL(qf_test::tensors_of(dir / "untied.gguf").at("output.weight.lora_b").bytes.size(), 100u * 4 * 4);
  BOOST_CHECK(!fs::exists(dir / "out.gguf"));
}

// mergekit-extract-lora puts norms in adapters; the converter keeps them, in F32 whatever the type.
BOOST_AUTO_TEST_CASE(norms_beside_the_pairs_are_kept_in_f32) {
  qf_test::TempDir dir;
  const fs::path base = write_base(dir / "base", "LlamaForCausalLM");
  std::mt19937 rng(4);
  auto parts = parts_of(random_pairs());
  const qf_lora::Matrix norm = qf_lora::random_matrix(1, 64, rng);
  qf_folder::Part norm_part = qf_lora::f32_part("base_model.model.model.layers.1.input_layernorm.weight", norm);
  norm_part.shape = {64};
  parts.push_back(norm_part);
  const fs::path adapter = qf_lora::write_adapter(dir / "adapter", llama_lora_config(), parts);
  auto r = convert(adapter, base, dir / "out.gguf", "--type f16");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto written = qf_test::tensors_of(dir / "out.gguf");
  BOOST_REQUIRE(written.count("blk.1.attn_norm.weight"));
  BOOST_CHECK_EQUAL(written.at("blk.1.attn_norm.weight").type, "f32");
  BOOST_CHECK(written.at("blk.1.attn_norm.weight").bytes == norm_part.data);
  BOOST_CHECK_EQUAL(written.at("blk.0.attn_q.weight.lora_a").type, "f16");
}

// F16 and BF16 pairs widen exactly to the default F32 (the converter's default outtype).
BOOST_AUTO_TEST_CASE(half_precision_pairs_widen_exactly_to_the_default_f32) {
  qf_test::TempDir dir;
  const fs::path base = write_base(dir / "base", "LlamaForCausalLM");
  std::mt19937 rng(9);
  for (const char* dtype : {"F16", "BF16"}) {
    std::vector<qf_folder::Part> parts;
    std::vector<qf_folder::Module> modules;
    for (const char* half : {"A", "B"}) {
      const std::vector<uint64_t> shape = half == std::string("A") ? std::vector<uint64_t>{kRank, kDims.hidden}
                                                                   : std::vector<uint64_t>{kDims.kv_rows(), kRank};
      modules.push_back(qf_folder::plain_tensor(
          std::string("base_model.model.model.layers.0.self_attn.v_proj.lora_") + half + ".weight", shape, dtype, rng));
      qf_folder::append_parts(parts, modules.back());
    }
    const fs::path adapter = qf_lora::write_adapter(dir / dtype, llama_lora_config(), parts);
    auto r = convert(adapter, base, dir / (std::string(dtype) + ".gguf"));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto written = qf_test::tensors_of(dir / (std::string(dtype) + ".gguf"));
    BOOST_CHECK_EQUAL(written.at("blk.0.attn_v.weight.lora_a").type, "f32");
    BOOST_CHECK(qf_folder::as_floats(written.at("blk.0.attn_v.weight.lora_a").bytes) == modules[0].expected);
    BOOST_CHECK(qf_folder::as_floats(written.at("blk.0.attn_v.weight.lora_b").bytes) == modules[1].expected);
  }
}
