// Recipe parsing, validation messages (exact FILE:LINE:COLUMN text) and rule semantics.
#include <fstream>

#include "pipeline/recipe/recipe.hpp"
#include "pipeline/recipe/recipe_plan.hpp"
#include "pipeline/recipe/recipe_source.hpp"
#include "pipeline/recipe/tensor_rules.hpp"
#include "support/test_support.hpp"

using namespace quantflow;
using namespace quantflow::pipeline;

namespace {

Result<Recipe> parse(const std::string& text, const std::vector<std::string>& sets = {}) {
  std::vector<RecipeOverride> overrides;
  for (const auto& s : sets) {
    auto o = parse_override(s);
    BOOST_REQUIRE(o.ok());
    overrides.push_back(*o);
  }
  return parse_recipe(text, "r.yaml", "", overrides);
}

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  auto r = parse(text, sets);
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected a parse error for:\n" << text);
  return r.status().message();
}

// Validation against the build's plugins, after parsing succeeded.
std::string validation_error(const std::string& text, std::vector<std::string>* warnings = nullptr) {
  auto r = parse(text);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  std::vector<std::string> w;
  Status s = validate_recipe(qf_test::plugins(), *r, w);
  if (warnings) *warnings = w;
  return s.ok() ? std::string() : s.message();
}

TensorRule rule_from(const std::string& yaml_rule) {
  static std::vector<Recipe> keep_alive;  // rules are referenced by CompiledRule
  auto r = parse("inputs: a.gguf\noutput: b.gguf\ntensors:\n  - " + yaml_rule + "\n");
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  return r->rules.front();
}

bool matches(const std::string& yaml_rule, const std::string& name, const Shape& shape) {
  const TensorRule rule = rule_from(yaml_rule);
  auto compiled = CompiledRule::compile(rule);
  BOOST_REQUIRE(compiled.ok());
  return compiled->matches(name, name, shape);
}

}  // namespace

BOOST_AUTO_TEST_CASE(parses_every_key) {
  auto r = parse(R"(inputs: [a.gguf, b.safetensors]
output:
  path: out.gguf
  format: gguf
  split_size: 2G
  options: {alignment: "64"}
metadata:
  set:
    general.name: x
    n: 7
    neg: -3
    eps: 1.0e-5
    flag: true
    quoted: "12"
    tags: [a, b]
    typed: {type: u16, value: 9}
    arr: {type: array, element_type: f32, value: [1, 2.5]}
  delete: [general.description, "tok.*"]
  copy:
    - {key: general.basename, input: 1, from: general.name}
rename:
  builtin: hf-to-gguf
  architecture: llama
  heads: 4
  kv_heads: 2
  map: {lm_head.weight: output.weight}
tensors:
  - {glob: "blk.*", layers: "0-3,8", type: q4_k}
  - {name: x, shape: [4, "*"], dims: 2, min_elements: 1, max_elements: 100, row_multiple_of: 4, type: keep}
  - {regex: "^a", layers: [1, "5-6"], type: skip}
default_type: q8_0
protected_type: f16
mode: allowlist
fallback: [q5_0, q8_0]
imatrix: m.dat
threads: 3
memory_limit: 512M
preset: Q4_K_M
preset_options: {pure: true}
)");
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  BOOST_CHECK_EQUAL(r->inputs.size(), 2u);
  BOOST_CHECK_EQUAL(r->inputs[1].value, "b.safetensors");
  BOOST_CHECK_EQUAL(r->inputs[1].mark.to_string(), "r.yaml:1:18");
  // llama-gguf-split's units: G is 10^9 bytes (GiB would be 2^30).
  BOOST_CHECK_EQUAL(r->output.split_size.value, 2'000'000'000ull);
  auto by_count = parse("inputs: a\noutput: {path: b, split_max_tensors: 128, split_size: 512MiB}\n");
  BOOST_REQUIRE_MESSAGE(by_count.ok(), by_count.status().to_string());
  BOOST_CHECK_EQUAL(by_count->output.split_max_tensors.value, 128u);
  BOOST_CHECK_EQUAL(by_count->output.split_size.value, 512ull << 20);
  BOOST_CHECK_EQUAL(r->output.writer_options.size(), 1u);
  const auto& set = r->metadata.set;
  BOOST_REQUIRE_EQUAL(set.size(), 9u);
  BOOST_CHECK(set[0].value == MetaValue::make_string("x"));
  BOOST_CHECK(set[1].value == MetaValue::make_u32(7));
  BOOST_CHECK(set[2].value == MetaValue::make_i32(-3));
  BOOST_CHECK(set[3].value == MetaValue::make_f32(1.0e-5f));
  BOOST_CHECK(set[4].value == MetaValue::make_bool(true));
  BOOST_CHECK(set[5].value == MetaValue::make_string("12"));
  BOOST_CHECK(set[6].value.type == MetaType::array && set[6].value.element_type == MetaType::string);
  BOOST_CHECK(set[7].value == MetaValue::make_unsigned(MetaType::u16, 9));
  BOOST_CHECK(set[8].value.element_type == MetaType::f32 && set[8].value.elements.size() == 2);
  BOOST_CHECK_EQUAL(r->metadata.copy.front().from_key.value, "general.name");
  BOOST_CHECK_EQUAL(r->rename.heads.value, 4u);
  BOOST_REQUIRE_EQUAL(r->rules.size(), 3u);
  BOOST_CHECK(r->rules[0].action == RuleAction::encode);
  BOOST_CHECK(r->rules[1].action == RuleAction::keep);
  BOOST_CHECK(r->rules[2].action == RuleAction::skip);
  BOOST_CHECK_EQUAL(r->rules[0].layers->value.size(), 2u);
  BOOST_CHECK_EQUAL(r->rules[2].mark.to_string(), "r.yaml:30:5");
  BOOST_CHECK(r->mode.value == RuleMode::allowlist);
  BOOST_CHECK_EQUAL(r->fallback.size(), 2u);
  BOOST_CHECK_EQUAL(r->threads.value, 3);
  BOOST_CHECK_EQUAL(r->memory_limit.value, 512ull << 20);
  BOOST_CHECK_EQUAL(r->preset.value, "Q4_K_M");
}

BOOST_AUTO_TEST_CASE(structural_errors_name_file_line_column) {
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput: b\nbogus: 1\n"),
                    "r.yaml:3:1: unknown key 'bogus' in the recipe (expected one of: inputs, output, metadata, rename, "
                    "tensors, default_type, protected_type, mode, fallback, imatrix, threads, memory_limit, preset, "
                    "preset_options)");
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput:\n  path: b\n  split: 2G\n"),
                    "r.yaml:4:3: unknown key 'split' in 'output' (expected one of: path, format, split_size, "
                    "split_max_tensors, compress, options, report, model_card)");
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput: b\ntensors:\n  - glob: x\n"),
                    "r.yaml:4:5: a tensor rule needs 'type': keep, skip or an encoding name");
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput: b\ntensors: {a: 1}\n"),
                    "r.yaml:3:10: 'tensors' must be a list, not a map");
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput: b\nthreads: many\n"),
                    "r.yaml:3:10: 'threads' must be a non-negative integer, not 'many'");
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput: {path: b, split_size: lots}\n"),
                    "r.yaml:2:31: 'lots' is not a split size; use e.g. 512M or 2G (10^6 and 10^9 bytes, as "
                    "llama-gguf-split reads them), 4GiB, or a number of bytes");
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput: {path: b, split_max_tensors: 0}\n"),
                    "r.yaml:2:38: 'output.split_max_tensors' must be at least 1");
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput: b\ntensors:\n  - {layers: 5-2, type: q8_0}\n"),
                    "r.yaml:4:14: '5-2' is not a layer or layer range such as 0-3");
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput: b\nmetadata:\n  set:\n    k: {type: u8, value: 300}\n"),
                    "r.yaml:5:26: '300' is not a u8 (range 0..255)");
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput: b\nmetadata:\n  set:\n    k: {type: u9, value: 3}\n"),
                    "r.yaml:5:15: unknown metadata type 'u9' (expected one of: u8, i8, u16, i16, u32, i32, u64, i64, "
                    "f32, f64, bool, string, array)");
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput: b\nmode: some\n"),
                    "r.yaml:3:7: 'mode' must be 'all' or 'allowlist', not 'some'");
  BOOST_CHECK_EQUAL(error_of("output: b\n"), "r.yaml:1:1: the recipe needs 'inputs'");
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput: [b\n").rfind("r.yaml:", 0), 0u);
  // yaml-cpp's own text for its nesting limit is "bad file".
  BOOST_CHECK_EQUAL(error_of("inputs: " + std::string(1000, '[') + std::string(1000, ']') + "\n"),
                    "r.yaml:1:2009: the YAML is nested too deeply (more levels than the parser's recursion limit)");
}

BOOST_AUTO_TEST_CASE(overrides_apply_before_validation_and_are_named_in_errors) {
  auto r =
      parse("inputs: a.gguf\noutput: {path: b.gguf}\n",
            {"output.path=x.gguf", "default_type=q8_0", "inputs=[c.gguf, d.gguf]", "tensors=[{name: t, type: skip}]"});
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  BOOST_CHECK_EQUAL(r->output.path.value, "x.gguf");
  BOOST_CHECK_EQUAL(r->default_type.value, "q8_0");
  BOOST_CHECK_EQUAL(r->inputs.size(), 2u);
  BOOST_CHECK_EQUAL(r->rules.size(), 1u);
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput: b\n", {"threads=x"}),
                    "--set threads=x: 'threads' must be a non-negative integer, not 'x'");
  BOOST_CHECK_EQUAL(
      error_of("inputs: a\noutput: b\n", {"tensors=[{name: t, typo: 1}]"}),
      "--set tensors=[{name: t, typo: 1}]:1:12: unknown key 'typo' in 'tensors.0' (expected one of: name, "
      "glob, regex, layers, shape, dims, min_elements, max_elements, row_multiple_of, type)");
  BOOST_CHECK_EQUAL(error_of("inputs: a\noutput: b\n", {"output.path=x"}),
                    "--set output.path: 'path' is inside a scalar, not a map");
  BOOST_CHECK(!parse_override("novalue").ok());
}

BOOST_AUTO_TEST_CASE(validation_checks_encodings_regexes_and_outputs) {
  const std::string input = (qf_test::repo_dir() / "configs" / "examples" / "allowlist.yaml").string();
  const std::string head = "inputs: " + input + "\noutput: {path: /tmp/out.gguf}\n";
  BOOST_CHECK_EQUAL(validation_error(head + "default_type: q9_9\n").substr(0, 49),
                    "r.yaml:3:15: unknown encoding 'q9_9' for default_");
  BOOST_CHECK_EQUAL(validation_error(head + "tensors:\n  - {regex: \"(\", type: keep}\n").substr(0, 32),
                    "r.yaml:4:13: invalid regex '(': ");
  BOOST_CHECK_EQUAL(validation_error(head + "fallback: [q8_0, nope]\n").substr(0, 45),
                    "r.yaml:3:18: unknown encoding 'nope' for fall");
  qf_test::TempDir tmp;
  const std::string model = (tmp / "m.gguf").string();
  qf_test::write_text(model, "not read by validation");
  BOOST_CHECK_EQUAL(validation_error("inputs: " + model + "\noutput: {path: " + model + "}\n"),
                    "r.yaml:2:16: the output '" + model + "' is also an input (r.yaml:1:9)");
  BOOST_CHECK_EQUAL(validation_error("inputs: /no/such.gguf\noutput: {path: /tmp/o.gguf}\n"),
                    "r.yaml:1:9: input '/no/such.gguf' does not exist");
  BOOST_CHECK_EQUAL(validation_error(head + "metadata:\n  copy: [{key: k, input: 3}]\n"),
                    "r.yaml:4:26: input 3 does not exist (the recipe has 1 input, from 0)");
  BOOST_CHECK_EQUAL(validation_error("inputs: " + input + "\noutput: {path: /tmp/o.zzz}\n").substr(0, 64),
                    "r.yaml:2:16: cannot tell the output format from the file name; u");
  BOOST_CHECK_EQUAL(validation_error(head + "rename: {builtin: nope}\n"),
                    "r.yaml:3:19: unknown builtin name map 'nope' (known: hf-to-gguf, none)");
  std::vector<std::string> warnings;
  BOOST_CHECK_EQUAL(validation_error(head + "mode: allowlist\n", &warnings), "");
  BOOST_REQUIRE_EQUAL(warnings.size(), 1u);
  BOOST_CHECK_EQUAL(warnings[0], "r.yaml:3:7: allowlist mode without rules keeps every tensor as it is");
}

BOOST_AUTO_TEST_CASE(rule_predicates) {
  BOOST_CHECK(matches("{name: blk.0.attn_q.weight, type: keep}", "blk.0.attn_q.weight", {4, 4}));
  BOOST_CHECK(!matches("{name: blk.0.attn_q.weight, type: keep}", "blk.0.attn_q.weight.x", {4, 4}));
  BOOST_CHECK(matches("{glob: \"blk.*.ffn_*\", type: keep}", "blk.12.ffn_up.weight", {4, 4}));
  BOOST_CHECK(!matches("{glob: \"blk.?.ffn_*\", type: keep}", "blk.12.ffn_up.weight", {4, 4}));
  BOOST_CHECK(matches("{regex: \"attn_(q|k)\", type: keep}", "blk.3.attn_k.weight", {4, 4}));
  BOOST_CHECK(!matches("{regex: \"^attn\", type: keep}", "blk.3.attn_k.weight", {4, 4}));
  BOOST_CHECK(matches("{layers: 0-3, type: keep}", "blk.3.attn_k.weight", {4, 4}));
  BOOST_CHECK(!matches("{layers: 0-3, type: keep}", "blk.4.attn_k.weight", {4, 4}));
  BOOST_CHECK(matches("{layers: [1, 7-9], type: keep}", "model.layers.8.mlp.up_proj.weight", {4, 4}));
  BOOST_CHECK(matches("{layers: 2, type: keep}", "h.2.attn.c_attn.weight", {4, 4}));
  BOOST_CHECK(!matches("{layers: 0-9, type: keep}", "token_embd.weight", {4, 4}));
  BOOST_CHECK(matches("{shape: [4, \"*\"], type: keep}", "t", {4, 9}));
  BOOST_CHECK(!matches("{shape: [4, \"*\"], type: keep}", "t", {5, 9}));
  BOOST_CHECK(!matches("{shape: [4], type: keep}", "t", {4, 9}));
  BOOST_CHECK(matches("{dims: 1, type: keep}", "t", {9}));
  BOOST_CHECK(matches("{min_elements: 36, max_elements: 36, type: keep}", "t", {4, 9}));
  BOOST_CHECK(!matches("{min_elements: 37, type: keep}", "t", {4, 9}));
  BOOST_CHECK(!matches("{max_elements: 35, type: keep}", "t", {4, 9}));
  BOOST_CHECK(matches("{row_multiple_of: 3, type: keep}", "t", {4, 9}));
  BOOST_CHECK(!matches("{row_multiple_of: 2, type: keep}", "t", {4, 9}));
  BOOST_CHECK(matches("{type: keep}", "anything", {1}));
  // Every stated predicate must hold.
  BOOST_CHECK(!matches("{glob: \"blk.*\", dims: 1, type: keep}", "blk.0.attn_q.weight", {4, 4}));
}

BOOST_AUTO_TEST_CASE(first_match_wins) {
  auto r = parse(
      "inputs: a\noutput: b\ntensors:\n  - {glob: \"blk.*\", layers: 0, type: q4_k}\n"
      "  - {glob: \"blk.*\", type: q8_0}\n  - {type: skip}\n");
  BOOST_REQUIRE(r.ok());
  auto rules = compile_rules(r->rules);
  BOOST_REQUIRE(rules.ok());
  BOOST_CHECK_EQUAL(*first_match(*rules, "blk.0.ffn_up.weight", "", {4, 4}), 0u);
  BOOST_CHECK_EQUAL(*first_match(*rules, "blk.1.ffn_up.weight", "", {4, 4}), 1u);
  BOOST_CHECK_EQUAL(*first_match(*rules, "output.weight", "", {4, 4}), 2u);
}

BOOST_AUTO_TEST_CASE(block_numbers) {
  BOOST_CHECK_EQUAL(*block_number_of("blk.17.attn_q.weight"), 17u);
  BOOST_CHECK_EQUAL(*block_number_of("model.layers.3.mlp.up_proj.weight"), 3u);
  BOOST_CHECK_EQUAL(*block_number_of("transformer.h.0.ln_1.weight"), 0u);
  BOOST_CHECK(!block_number_of("token_embd.weight"));
  BOOST_CHECK(!block_number_of("blk.x.attn_q.weight"));
}

BOOST_AUTO_TEST_CASE(rotary_interleave_matches_the_reshape_definition) {
  // 2 heads of head_dim 4, one byte per row: [H, 2, d/2] -> swap axes 1 and 2.
  std::vector<std::byte> rows;
  for (int i = 0; i < 8; ++i) rows.push_back(static_cast<std::byte>(i));
  auto out = interleave_rotary_rows(rows, 8, 2);
  const int expected[] = {0, 2, 1, 3, 4, 6, 5, 7};
  for (int i = 0; i < 8; ++i) BOOST_CHECK_EQUAL(static_cast<int>(out[i]), expected[i]);
}
