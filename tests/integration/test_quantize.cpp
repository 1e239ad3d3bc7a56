// `quantflow quantize` against llama-quantize: byte-identical files for the reference
// outputs in ../shared, and per-tensor types for the other presets from the mixture rules.
#include <map>

#include "pipeline/engine/type_request.hpp"
#include "pipeline/llama/preset.hpp"
#include "support/imatrix_file.hpp"
#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;
namespace qp = quantflow::pipeline;

namespace {

const fs::path kReference = qf_test::shared_testdata() / "reference";
const fs::path kSynth = kReference / "synth-llama.gguf";
const fs::path kStories = qf_test::shared_testdata() / "models" / "stories260K.gguf";
const fs::path kLlamaQuantize = qf_test::shared_dir() / "tools" / "llama.cpp" / "llama-quantize";

// Tensor name -> target encoding after applying `preset_name` to `model`.
std::map<std::string, std::string> planned_types(const fs::path& model, const std::string& preset_name,
                                                 const qp::PresetOptions& options = {}) {
  auto reader = qf_test::plugins().open_reader(model.string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  auto preset = qp::load_preset(preset_name);
  BOOST_REQUIRE_MESSAGE(preset.ok(), preset.status().to_string());
  qp::Plan plan = qp::copy_plan(**reader);
  quantflow::Status s = qp::apply_preset(*preset, options, plan, qf_test::plugins(),
                                         *qf_test::plugins().find_container(preset->container));
  BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
  std::map<std::string, std::string> out;
  for (const auto& job : plan.jobs) out[job.target.name] = job.target.dtype.name;
  return out;
}

// A model that exists only as a plan: enough for the type decision, which never reads data.
qp::Plan fake_model(quantflow::Metadata metadata,
                    const std::vector<std::pair<std::string, quantflow::Shape>>& tensors) {
  qp::Plan plan;
  plan.metadata = std::move(metadata);
  const auto* f32 = qf_test::plugins().find("f32");
  BOOST_REQUIRE(f32 != nullptr);
  for (size_t i = 0; i < tensors.size(); ++i) {
    qp::TensorJob job;
    job.source_index = i;
    job.source.name = tensors[i].first;
    job.source.shape = tensors[i].second;
    job.source.dtype = quantflow::dtype_of(*f32);
    job.source.n_bytes = job.source.dtype.bytes_for(quantflow::element_count(job.source.shape));
    job.target = job.source;
    plan.jobs.push_back(job);
  }
  return plan;
}

quantflow::Metadata llama_metadata(uint32_t layers, uint32_t heads, uint32_t kv_heads, uint32_t experts = 0) {
  quantflow::Metadata m;
  m.set("general.architecture", quantflow::MetaValue::make_string("llama"));
  m.set("llama.block_count", quantflow::MetaValue::make_u32(layers));
  m.set("llama.attention.head_count", quantflow::MetaValue::make_u32(heads));
  m.set("llama.attention.head_count_kv", quantflow::MetaValue::make_u32(kv_heads));
  if (experts) m.set("llama.expert_count", quantflow::MetaValue::make_u32(experts));
  return m;
}

std::map<std::string, std::string> types_of(qp::Plan& plan, const std::string& preset_name,
                                            const qp::PresetOptions& options = {}) {
  auto preset = qp::load_preset(preset_name);
  BOOST_REQUIRE_MESSAGE(preset.ok(), preset.status().to_string());
  quantflow::Status s = qp::apply_preset(*preset, options, plan, qf_test::plugins(),
                                         *qf_test::plugins().find_container(preset->container));
  BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
  std::map<std::string, std::string> out;
  for (const auto& job : plan.jobs) out[job.target.name] = job.target.dtype.name;
  return out;
}

std::string blk(int layer, const std::string& name) { return "blk." + std::to_string(layer) + "." + name + ".weight"; }

void check_byte_identical(const std::string& args, const std::string& reference) {
  qf_test::TempDir tmp;
  const fs::path out = tmp / "out.gguf";
  auto r = cli("quantize " + quote(kSynth) + " " + quote(out) + " " + args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto ours = qf_test::read_bytes(out);
  const auto theirs = qf_test::read_bytes(kReference / reference);
  BOOST_CHECK_EQUAL(ours.size(), theirs.size());
  size_t first_difference = std::min(ours.size(), theirs.size());
  for (size_t i = 0; i < first_difference; ++i)
    if (ours[i] != theirs[i]) {
      first_difference = i;
      break;
    }
  BOOST_CHECK_MESSAGE(ours == theirs, reference << " differs, first at byte " << first_difference);
}

}  // namespace

BOOST_AUTO_TEST_CASE(q8_0_is_byte_identical, *boost::unit_test::precondition(qf_test::shared_data_available())) {
  check_byte_identical("Q8_0 1", "synth-llama-Q8_0.gguf");
}

BOOST_AUTO_TEST_CASE(q4_k_m_is_byte_identical, *boost::unit_test::precondition(qf_test::shared_data_available())) {
  check_byte_identical("q4_k_m", "synth-llama-Q4_K_M.gguf");
}

BOOST_AUTO_TEST_CASE(pure_q4_0_is_byte_identical, *boost::unit_test::precondition(qf_test::shared_data_available())) {
  check_byte_identical("--pure Q4_0 --threads 2", "synth-llama-pure-Q4_0.gguf");
}

// The reference files above hold no tensor over the transcoder's 256K-element chunk, so
// they never see a tensor split across chunks (and threads). This model does: token_embd
// and output (1024 rows of 512) make 2 chunks, ffn_up/gate (1536 rows of 512) 3, ffn_down
// (512 rows of 1536) 4 of 170 rows. llama-quantize runs here: ../shared has no such reference.
BOOST_AUTO_TEST_CASE(multi_chunk_tensors_are_byte_identical_to_llama_quantize,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  BOOST_REQUIRE_MESSAGE(fs::exists(kLlamaQuantize), kLlamaQuantize << " is missing");
  qf_test::TempDir tmp;
  const fs::path model = tmp / "wide.gguf";
  auto made = cli("synth " + quote(model) + " --layers 1 --hidden 512 --ffn 1536 --vocab 1024 --heads 4 --kv-heads 2");
  BOOST_REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  uint64_t chunked_tensors = 0;
  for (const auto& [name, tensor] : qf_test::tensors_of(model))
    if (tensor.bytes.size() / sizeof(float) > 256 * 1024) ++chunked_tensors;
  BOOST_REQUIRE_EQUAL(chunked_tensors, 5u);  // token_embd, output, ffn_up, ffn_gate, ffn_down
  // IQ4_XS with an importance matrix takes the weighted path through the chunks too.
  const fs::path imatrix = tmp / "wide.imatrix.dat";
  qf_test::write_imatrix_for(model, imatrix);
  for (const std::string type : {"Q4_0", "Q8_0", "Q4_K_M", "IQ4_XS"}) {
    const fs::path theirs_path = tmp / ("llama-" + type + ".gguf");
    const fs::path ours_path = tmp / ("ours-" + type + ".gguf");
    const std::string options = "--pure " + (type == "IQ4_XS" ? "--imatrix " + quote(imatrix) + " " : "");
    auto ref = qf_test::run(quote(kLlamaQuantize) + " " + options + quote(model) + " " + quote(theirs_path) + " " +
                            type + " 1");
    BOOST_REQUIRE_MESSAGE(ref.exit_code == 0, "llama-quantize " << type << ": " << ref.err);
    auto r = cli("quantize " + options + "--threads 2 " + quote(model) + " " + quote(ours_path) + " " + type);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    // Tensor by tensor first, so that a failure names the tensor.
    const auto ours = qf_test::tensors_of(ours_path), theirs = qf_test::tensors_of(theirs_path);
    BOOST_CHECK_EQUAL(ours.size(), theirs.size());
    for (const auto& [name, tensor] : theirs) {
      auto it = ours.find(name);
      BOOST_REQUIRE_MESSAGE(it != ours.end(), type << ": no tensor " << name);
      BOOST_CHECK_EQUAL(it->second.type, tensor.type);
      BOOST_CHECK_MESSAGE(it->second.bytes == tensor.bytes, type << ": tensor " << name << " differs");
    }
    BOOST_CHECK_MESSAGE(qf_test::read_bytes(ours_path) == qf_test::read_bytes(theirs_path),
                        type << ": the files differ");
  }
}

BOOST_AUTO_TEST_CASE(ftype_number_selects_the_preset,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  check_byte_identical("15", "synth-llama-Q4_K_M.gguf");  // 15 = MOSTLY_Q4_K_M
}

BOOST_AUTO_TEST_CASE(every_preset_file_loads) {
  size_t count = 0, recipe_presets = 0;
  for (const auto& entry : fs::directory_iterator(qf_test::repo_dir() / "configs" / "presets")) {
    if (entry.path().extension() != ".yaml") continue;
    auto preset = qp::load_preset_file(entry.path().string());
    BOOST_CHECK_MESSAGE(preset.ok(), preset.status().to_string());
    if (!preset.ok()) continue;
    BOOST_CHECK_EQUAL(preset->name, entry.path().stem().string());
    if (preset->is_recipe_preset()) {  // mlx-lm's mixtures: a family as default_type, recipe rules
      BOOST_CHECK_MESSAGE(
          qp::is_known_type(qf_test::plugins(), qf_test::plugins().codecs(), qp::type_named(preset->default_type)),
          preset->default_type);
      BOOST_CHECK_EQUAL(preset->tensor_rules.size(), 5u);
      ++recipe_presets;
      continue;
    }
    BOOST_CHECK_MESSAGE(qf_test::plugins().find(preset->default_type) != nullptr, preset->default_type);
    for (const auto* rules : {&preset->rules, &preset->adjustments})
      for (const auto& rule : *rules)
        if (rule.action == qp::PresetRule::Action::set_type)
          BOOST_CHECK_MESSAGE(qf_test::plugins().find(rule.type) != nullptr, rule.origin << ": " << rule.type);
    ++count;
  }
  BOOST_CHECK_GE(count, 18u);
  BOOST_CHECK_EQUAL(recipe_presets, 4u);  // mixed_2_6, mixed_3_4, mixed_3_6, mixed_4_6
  for (const char* name : {"Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "Q8_0",
                           "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "IQ4_XS", "TQ1_0", "TQ2_0"})
    BOOST_CHECK_MESSAGE(qp::load_preset(name).ok(), name);
  BOOST_CHECK_EQUAL(qp::load_preset("q4_k")->name, "Q4_K_M");  // alias
  BOOST_CHECK_EQUAL(qp::load_preset("12")->name, "Q3_K_M");    // ftype number
  BOOST_CHECK_EQUAL(qp::load_preset("0")->name, "F32");        // not COPY, which shares the number
}

BOOST_AUTO_TEST_CASE(preset_errors_name_file_line_and_column) {
  qf_test::TempDir tmp;
  const fs::path bad = tmp / "bad.yaml";
  qf_test::write_text(bad,
                      "name: BAD\nftype: 99\ndefault_type: q4_k\nrules:\n  - {category: attn_v, when: {layr: "
                      "first_eighth}, type: q6_k}\n");
  auto preset = qp::load_preset_file(bad.string());
  BOOST_REQUIRE(!preset.ok());
  BOOST_CHECK_EQUAL(preset.status().message(),
                    bad.string() +
                        ":5:31: unknown condition key 'layr' (expected one of: arch, not_arch, row_fits, "
                        "has_imatrix, is_70b, stacked_experts, tied_embeddings, option_given, "
                        "n_gqa_at_least, n_expert_at_least, n_expert, layer, counter, type_in)");
  qf_test::write_text(bad, "name: BAD\nftype: 99\ndefault_type: q4_k\nrules:\n  - {category: attn_z, type: q6_k}\n");
  preset = qp::load_preset_file(bad.string());
  BOOST_REQUIRE(!preset.ok());
  BOOST_CHECK_EQUAL(preset.status().message(), bad.string() + ":5:16: unknown category 'attn_z'");
  // A recipe preset speaks the recipe rule language only.
  qf_test::write_text(bad, "name: BAD\ncontainer: mlx\ndefault_type: mlx_q4\nftype: 7\ntensors: []\n");
  preset = qp::load_preset_file(bad.string());
  BOOST_REQUIRE(!preset.ok());
  BOOST_CHECK_EQUAL(preset.status().message(),
                    bad.string() +
                        ":4:8: 'ftype' belongs to llama-quantize presets; a preset with 'tensors' uses the recipe "
                        "rule language only");
  qf_test::write_text(bad, "name: BAD\nftype: 7\ncontainer: gguf\ndefault_type: q8_0\nprotected_type: keep\n");
  preset = qp::load_preset_file(bad.string());
  BOOST_REQUIRE(!preset.ok());
  BOOST_CHECK_EQUAL(preset.status().message(),
                    bad.string() + ":5:17: 'protected_type' belongs to recipe presets (with 'tensors')");
  qf_test::write_text(bad, "name: BAD\ncontainer: mlx\ndefault_type: mlx_q4\ntensors: {glob: x}\n");
  preset = qp::load_preset_file(bad.string());
  BOOST_REQUIRE(!preset.ok());
  BOOST_CHECK_EQUAL(preset.status().message(), bad.string() + ":4:10: 'tensors' must be a list of recipe rules");
  qf_test::write_text(bad, "name: BAD\nftype: [1\n");
  preset = qp::load_preset_file(bad.string());
  BOOST_REQUIRE(!preset.ok());
  BOOST_CHECK_EQUAL(preset.status().message().rfind(bad.string() + ":", 0), 0u);
}

// Types from §5.7 for presets without a reference file: synth-llama has 4 layers, GQA 2 and
// an untied output, every row a multiple of 256.
BOOST_AUTO_TEST_CASE(k_quant_mixtures_on_synth_llama,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  auto q3m = planned_types(kSynth, "Q3_K_M");
  BOOST_CHECK_EQUAL(q3m["output.weight"], "q6_k");
  BOOST_CHECK_EQUAL(q3m["token_embd.weight"], "q3_k");
  BOOST_CHECK_EQUAL(q3m["output_norm.weight"], "f32");
  for (int i = 0; i < 4; ++i) {
    BOOST_CHECK_EQUAL(q3m[blk(i, "attn_v")], i < 2 ? "q5_k" : "q4_k");
    BOOST_CHECK_EQUAL(q3m[blk(i, "ffn_down")], "q4_k");  // n/16 = 0 layers of Q5_K
    BOOST_CHECK_EQUAL(q3m[blk(i, "attn_output")], "q4_k");
    BOOST_CHECK_EQUAL(q3m[blk(i, "attn_q")], "q3_k");
    BOOST_CHECK_EQUAL(q3m[blk(i, "ffn_up")], "q3_k");
  }
  auto q5s = planned_types(kSynth, "Q5_K_S");
  BOOST_CHECK_EQUAL(q5s["output.weight"], "q6_k");
  BOOST_CHECK_EQUAL(q5s["token_embd.weight"], "q5_k");
  for (int i = 0; i < 4; ++i)
    for (const char* t : {"attn_v", "ffn_down", "attn_k", "ffn_gate"}) BOOST_CHECK_EQUAL(q5s[blk(i, t)], "q5_k");
  auto q6 = planned_types(kSynth, "Q6_K");
  for (const auto& [name, type] : q6) BOOST_CHECK_EQUAL(type, name.find("norm") != std::string::npos ? "f32" : "q6_k");
  auto q4s = planned_types(kSynth, "Q4_K_S");
  for (int i = 0; i < 4; ++i) {
    BOOST_CHECK_EQUAL(q4s[blk(i, "attn_v")], "q5_k");    // i < 4
    BOOST_CHECK_EQUAL(q4s[blk(i, "ffn_down")], "q4_k");  // n/8 = 0
  }
  auto q2 = planned_types(kSynth, "Q2_K");
  BOOST_CHECK_EQUAL(q2[blk(0, "attn_v")], "q3_k");  // GQA 2 < 4
  BOOST_CHECK_EQUAL(q2[blk(0, "ffn_down")], "q3_k");
  BOOST_CHECK_EQUAL(q2[blk(0, "attn_output")], "q3_k");
  BOOST_CHECK_EQUAL(q2[blk(0, "attn_q")], "q2_k");
  auto q3l = planned_types(kSynth, "Q3_K_L");
  BOOST_CHECK_EQUAL(q3l[blk(3, "attn_v")], "q5_k");
  BOOST_CHECK_EQUAL(q3l[blk(3, "ffn_down")], "q5_k");
  BOOST_CHECK_EQUAL(q3l[blk(3, "attn_output")], "q5_k");
  auto tq1 = planned_types(kSynth, "TQ1_0");
  BOOST_CHECK_EQUAL(tq1["output.weight"], "q6_k");
  BOOST_CHECK_EQUAL(tq1["token_embd.weight"], "q4_k");
  BOOST_CHECK_EQUAL(tq1[blk(1, "attn_v")], "tq1_0");
  auto iq4 = planned_types(kSynth, "IQ4_XS");
  BOOST_CHECK_EQUAL(iq4["output.weight"], "q6_k");
  BOOST_CHECK_EQUAL(iq4[blk(0, "attn_v")], "iq4_xs");    // GQA 2 < 4
  BOOST_CHECK_EQUAL(iq4[blk(0, "ffn_down")], "iq4_xs");  // n/8 = 0
  auto q8 = planned_types(kSynth, "Q8_0");
  BOOST_CHECK_EQUAL(q8["output.weight"], "q8_0");
}

// stories260K: rows of 64 fit no 256-block type, and rows of 172 fit no 32-block type either.
BOOST_AUTO_TEST_CASE(fallbacks_on_stories260k, *boost::unit_test::precondition(qf_test::shared_data_available())) {
  auto t = planned_types(kStories, "Q4_K_M");
  BOOST_CHECK_EQUAL(t["output.weight"], "q8_0");      // rule: row does not fit q4_k
  BOOST_CHECK_EQUAL(t["token_embd.weight"], "q5_0");  // q4_k -> q5_0
  for (int i = 0; i < 5; ++i) {
    const bool more = i == 2 || i == 4;                              // use_more_bits(i, 5)
    BOOST_CHECK_EQUAL(t[blk(i, "attn_v")], more ? "q8_0" : "q5_0");  // q6_k -> q8_0, q4_k -> q5_0
    BOOST_CHECK_EQUAL(t[blk(i, "ffn_gate")], "q5_0");                // ne[0] = 64
    BOOST_CHECK_EQUAL(t[blk(i, "ffn_down")], "f16");                 // 172: neither q4_k/q6_k nor q5_0/q8_0
    BOOST_CHECK_EQUAL(t[blk(i, "attn_q")], "q5_0");
  }
  auto q3 = planned_types(kStories, "Q3_K_S");
  BOOST_CHECK_EQUAL(q3[blk(0, "attn_q")], "q4_0");  // q3_k -> q4_0
  BOOST_CHECK_EQUAL(q3[blk(0, "ffn_up")], "q4_0");
  BOOST_CHECK_EQUAL(q3[blk(0, "ffn_down")], "f16");

  qf_test::TempDir tmp;
  auto r = cli("quantize " + quote(kStories) + " " + quote(tmp / "o.gguf") + " Q4_0");
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + kStories.string() +
                               ": tensor 'blk.0.ffn_down.weight': no tensor type fallback is defined for type q4_0 "
                               "(row length 172)\n");
  BOOST_CHECK(!fs::exists(tmp / "o.gguf"));

  r = cli("quantize " + quote(kStories) + " " + quote(tmp / "o.gguf") + " Q4_K_M");
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK_NE(r.err.find("used a fallback type"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(model_predicates_on_fake_models) {
  // GQA 8, 80 layers: llama's 70B. attn_v gets Q5_K in Q3_K_M after the chain's Q4_K.
  std::vector<std::pair<std::string, quantflow::Shape>> tensors = {{"token_embd.weight", {512, 256}}};
  for (int i = 0; i < 80; ++i) {
    tensors.push_back({blk(i, "attn_v"), {64, 256}});
    tensors.push_back({blk(i, "ffn_down"), {256, 512}});
  }
  auto plan = fake_model(llama_metadata(80, 64, 8), tensors);
  auto t = types_of(plan, "Q3_K_M");
  BOOST_CHECK_EQUAL(t["token_embd.weight"], "q6_k");  // tied: it is the output
  BOOST_CHECK_EQUAL(t[blk(0, "attn_v")], "q5_k");
  BOOST_CHECK_EQUAL(t[blk(5, "attn_v")], "q5_k");
  BOOST_CHECK_EQUAL(t[blk(4, "ffn_down")], "q5_k");  // i < 80/16
  BOOST_CHECK_EQUAL(t[blk(5, "ffn_down")], "q4_k");
  plan = fake_model(llama_metadata(80, 64, 8), tensors);
  t = types_of(plan, "IQ4_NL");
  BOOST_CHECK_EQUAL(t[blk(40, "attn_v")], "q5_k");   // GQA >= 4
  BOOST_CHECK_EQUAL(t[blk(9, "ffn_down")], "q5_k");  // i < 80/8 without an imatrix
  BOOST_CHECK_EQUAL(t[blk(10, "ffn_down")], "iq4_nl");
  // A tied token_embd follows --output-tensor-type; --token-embedding-type wins over that.
  plan = fake_model(llama_metadata(80, 64, 8), tensors);
  qp::PresetOptions options;
  options.output_tensor_type = "Q8_0";
  BOOST_CHECK_EQUAL(types_of(plan, "Q4_K_M", options)["token_embd.weight"], "q8_0");
  plan = fake_model(llama_metadata(80, 64, 8), tensors);
  options.token_embedding_type = "q5_k";
  BOOST_CHECK_EQUAL(types_of(plan, "Q4_K_M", options)["token_embd.weight"], "q5_k");

  // Mixtral-like: 8 experts makes attn_v and attn_k Q8_0 and attn_output Q5_K.
  std::vector<std::pair<std::string, quantflow::Shape>> moe = {{"output.weight", {512, 256}}};
  for (int i = 0; i < 4; ++i)
    for (const char* n : {"attn_k", "attn_v", "attn_output"}) moe.push_back({blk(i, n), {256, 256}});
  moe.push_back({"blk.3.ffn_down_exps.weight", {8, 256, 512}});
  plan = fake_model(llama_metadata(4, 8, 8, 8), moe);
  t = types_of(plan, "Q4_K_M");
  BOOST_CHECK_EQUAL(t[blk(1, "attn_v")], "q8_0");
  BOOST_CHECK_EQUAL(t[blk(1, "attn_k")], "q8_0");
  BOOST_CHECK_EQUAL(t[blk(1, "attn_output")], "q5_k");
  BOOST_CHECK_EQUAL(t["blk.3.ffn_down_exps.weight"], "q6_k");  // layer 3 from the name (counter is 0)
  plan = fake_model(llama_metadata(4, 8, 8, 8), moe);
  t = types_of(plan, "MXFP4_MOE");
  BOOST_CHECK_EQUAL(t["blk.3.ffn_down_exps.weight"], "mxfp4");
  BOOST_CHECK_EQUAL(t[blk(1, "attn_v")], "q8_0");
  BOOST_CHECK_EQUAL(t["output.weight"], "q8_0");
}

BOOST_AUTO_TEST_CASE(option_effects, *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qp::PresetOptions pure;
  pure.pure = true;
  auto t = planned_types(kSynth, "Q4_K_M", pure);
  BOOST_CHECK_EQUAL(t["output.weight"], "q4_k");
  BOOST_CHECK_EQUAL(t[blk(3, "attn_v")], "q4_k");

  qp::PresetOptions out;
  out.output_tensor_type = "q8_0";
  out.leave_output_tensor = false;
  BOOST_CHECK_EQUAL(planned_types(kSynth, "Q4_K_M", out)["output.weight"], "q8_0");
  qp::PresetOptions leave;
  leave.leave_output_tensor = true;
  BOOST_CHECK_EQUAL(planned_types(kSynth, "Q4_K_M", leave)["output.weight"], "f32");

  // Patterns: first match wins, manual tensors skip the attn_v counter, so later layers shift.
  qp::PresetOptions patterns;
  patterns.tensor_types = {{"BLK\\.0\\.attn_v", "q8_0"}, {"attn_v", "f16"}, {"ffn_up", "Q5_0"}};
  t = planned_types(kSynth, "Q4_K_M", patterns);
  BOOST_CHECK_EQUAL(t[blk(0, "attn_v")], "q8_0");  // lower-cased pattern matches
  BOOST_CHECK_EQUAL(t[blk(1, "attn_v")], "f16");
  BOOST_CHECK_EQUAL(t[blk(2, "ffn_up")], "q5_0");
  qp::PresetOptions one;
  one.tensor_types = {{"blk\\.0\\.attn_v", "q8_0"}};
  t = planned_types(kSynth, "Q4_K_M", one);
  // attn_v counter: blk.1 is now i=0, blk.2 i=1, blk.3 i=2 -> only blk.3 gets use_more_bits.
  BOOST_CHECK_EQUAL(t[blk(1, "attn_v")], "q4_k");
  BOOST_CHECK_EQUAL(t[blk(2, "attn_v")], "q4_k");
  BOOST_CHECK_EQUAL(t[blk(3, "attn_v")], "q6_k");

  // CLI: --override-kv entries are appended in order after file_type, ints as u32.
  qf_test::TempDir tmp;
  auto r =
      cli("quantize --override-kv general.name=str:renamed --override-kv llama.context_length=int:-64 "
          "--override-kv zz.flag=bool:true --override-kv a.f=float:0.5 --output-tensor-type q8_0 --pure " +
          quote(kSynth) + " " + quote(tmp / "o.gguf") + " Q4_0 1");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto reader = qf_test::plugins().open_reader((tmp / "o.gguf").string());
  BOOST_REQUIRE(reader.ok());
  const auto& entries = (*reader)->metadata().entries();
  std::vector<std::string> tail;
  for (size_t i = entries.size() - 6; i < entries.size(); ++i) tail.push_back(entries[i].key);
  const std::vector<std::string> expected = {"general.quantization_version", "general.file_type", "general.name",
                                             "llama.context_length",         "zz.flag",           "a.f"};
  BOOST_CHECK_EQUAL_COLLECTIONS(tail.begin(), tail.end(), expected.begin(), expected.end());
  BOOST_CHECK(entries[entries.size() - 3].value.type == quantflow::MetaType::u32);
  BOOST_CHECK_EQUAL(entries[entries.size() - 3].value.as_u64(), 64u);
  BOOST_CHECK_EQUAL(entries[entries.size() - 4].value.text, "renamed");
  BOOST_CHECK_EQUAL(entries[entries.size() - 5].value.as_u64(), 2u);  // file_type Q4_0
  for (size_t i = 0; i < (*reader)->tensors().size(); ++i) {
    const auto& info = (*reader)->tensors()[i];
    if (info.name == "output.weight") BOOST_CHECK_EQUAL(info.dtype.name, "q8_0");
    if (info.name == "token_embd.weight") BOOST_CHECK_EQUAL(info.dtype.name, "q4_0");
  }
}

BOOST_AUTO_TEST_CASE(dry_run_prints_the_plan_and_writes_nothing,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qf_test::TempDir tmp;
  auto r = cli("quantize --dry-run " + quote(kSynth) + " " + quote(tmp / "o.gguf") + " Q4_K_M");
  BOOST_CHECK_EQUAL(r.exit_code, 0);
  BOOST_CHECK(!fs::exists(tmp / "o.gguf"));
  BOOST_CHECK_NE(r.out.find("output.weight"), std::string::npos);
  BOOST_CHECK_NE(r.out.find("f32      -> q6_k"), std::string::npos);
  BOOST_CHECK_NE(r.out.find("Q4_K_M (file_type 15): 39 tensors"), std::string::npos);
  // The first line after the header is output.weight: llama-quantize's order.
  const auto second_line = r.out.substr(r.out.find('\n') + 1);
  BOOST_CHECK_NE(second_line.substr(0, second_line.find('\n')).find("output.weight"), std::string::npos);
}

// Without OUT, a model folder's output goes beside the folder, named after it, whether or not
// the path ends in '/' (llama-quantize's "directory of IN" would put it inside).
BOOST_AUTO_TEST_CASE(a_model_folder_without_an_output_is_quantized_beside_it) {
  qf_test::TempDir tmp;
  qf_test::synth_model(tmp / "m.gguf", "--layers 1 --hidden 64 --ffn 128 --vocab 64 --heads 2");
  BOOST_REQUIRE_EQUAL(
      cli("convert -q " + quote(tmp / "m.gguf") + " " + quote((tmp / "model").string() + "/")).exit_code, 0);
  for (const std::string& input : {(tmp / "model").string(), (tmp / "model").string() + "/"}) {
    auto r = cli("quantize -q " + quote(input) + " Q8_0");
    BOOST_CHECK_MESSAGE(r.exit_code == 0, r.err);
    BOOST_CHECK(fs::exists(tmp / "model-Q8_0.gguf"));
    BOOST_CHECK(!fs::exists(tmp / "model" / "ggml-model-Q8_0.gguf"));
    fs::remove(tmp / "model-Q8_0.gguf");
  }
}

BOOST_AUTO_TEST_CASE(errors_are_one_line, *boost::unit_test::precondition(qf_test::shared_data_available())) {
  qf_test::TempDir tmp;
  auto r = cli("quantize " + quote(kSynth) + " " + quote(tmp / "o.gguf") + " Q9_X");
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err.rfind("quantflow: error: unknown quantization type 'Q9_X' (available: ", 0), 0u);
  BOOST_CHECK_EQUAL(std::count(r.err.begin(), r.err.end(), '\n'), 1);

  r = cli("quantize " + quote(kSynth) + " " + quote(tmp / "o.gguf") + " IQ2_XXS");
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + kSynth.string() +
                               ": tensor 'blk.0.attn_k.weight': this quantization requires an imatrix (IQ2_XXS makes "
                               "this tensor iq2_xxs); pass one with --imatrix FILE\n");
  BOOST_CHECK(!fs::exists(tmp / "o.gguf"));

  r = cli("quantize --tensor-type attn_q=q9_9 " + quote(kSynth) + " " + quote(tmp / "o.gguf") + " Q8_0");
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + kSynth.string() + ": --tensor-type attn_q: unknown type 'q9_9'\n");

  r = cli("quantize --override-kv a.b=int:x " + quote(kSynth) + " " + quote(tmp / "o.gguf") + " Q8_0");
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err,
                    "quantflow: error: " + kSynth.string() + ": --override-kv a.b=int:x: 'x' is not an integer\n");

  // Already quantized input needs --allow-requantize.
  r = cli("quantize " + quote(kReference / "synth-llama-Q8_0.gguf") + " " + quote(tmp / "o.gguf") + " Q4_0");
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_NE(r.err.find("requantizing from type q8_0 is disabled"), std::string::npos);
  r = cli("quantize --allow-requantize " + quote(kReference / "synth-llama-Q8_0.gguf") + " " + quote(tmp / "o.gguf") +
          " Q4_0");
  BOOST_CHECK_EQUAL(r.exit_code, 0);

  r = cli("quantize " + quote(kSynth));
  BOOST_CHECK_EQUAL(r.exit_code, 2);
}

BOOST_AUTO_TEST_CASE(imatrix_keys_follow_the_overrides,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  // A legacy .dat importance matrix with one entry, 7 chunks and a dataset name.
  qf_test::TempDir tmp;
  std::vector<uint8_t> dat;
  auto put_i32 = [&](int32_t v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    dat.insert(dat.end(), p, p + 4);
  };
  const std::string name = "blk.0.attn_q.weight", dataset = "wiki.train.raw";
  put_i32(1);
  put_i32(static_cast<int32_t>(name.size()));
  dat.insert(dat.end(), name.begin(), name.end());
  put_i32(1);
  put_i32(256);
  for (int i = 0; i < 256; ++i) {
    const float w = 1.0f + static_cast<float>(i % 7);
    const auto* p = reinterpret_cast<const uint8_t*>(&w);
    dat.insert(dat.end(), p, p + 4);
  }
  put_i32(7);
  put_i32(static_cast<int32_t>(dataset.size()));
  dat.insert(dat.end(), dataset.begin(), dataset.end());
  const fs::path imatrix = tmp / "synth.dat";
  qf_test::write_bytes(imatrix, dat.data(), dat.size());

  auto r = cli("quantize --imatrix " + quote(imatrix) + " --override-kv general.name=str:x " + quote(kSynth) + " " +
               quote(tmp / "o.gguf") + " Q4_K_M");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto reader = qf_test::plugins().open_reader((tmp / "o.gguf").string());
  BOOST_REQUIRE(reader.ok());
  const auto& entries = (*reader)->metadata().entries();
  BOOST_REQUIRE_GE(entries.size(), 7u);
  const size_t n = entries.size();
  BOOST_CHECK_EQUAL(entries[n - 6].key, "general.file_type");
  BOOST_CHECK_EQUAL(entries[n - 5].key, "general.name");
  BOOST_CHECK_EQUAL(entries[n - 4].key, "quantize.imatrix.file");
  BOOST_CHECK_EQUAL(entries[n - 4].value.text, imatrix.string());
  BOOST_CHECK_EQUAL(entries[n - 3].key, "quantize.imatrix.dataset");
  BOOST_CHECK_EQUAL(entries[n - 3].value.text, dataset);
  BOOST_CHECK_EQUAL(entries[n - 2].key, "quantize.imatrix.entries_count");
  BOOST_CHECK_EQUAL(entries[n - 2].value.as_u64(), 1u);
  BOOST_CHECK_EQUAL(entries[n - 1].key, "quantize.imatrix.chunks_count");
  BOOST_CHECK_EQUAL(entries[n - 1].value.as_u64(), 7u);
}
