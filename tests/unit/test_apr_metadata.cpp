// APR's JSON metadata and quantflow's typed Metadata (plugins/containers/apr/metadata/metadata_codec.hpp):
// the typed fields and their keys, the writer's exact text (§5 order, null provenance fields,
// custom keys in byte order, serde's float layout), the type list that makes any GGUF metadata
// travel exactly, JSON values kept as text, and what cannot be written.
#include <cmath>
#include <limits>

#include "support/apr_files.hpp"

namespace {

using namespace qf_apr;

std::vector<uint8_t> file_with(const Metadata& m) {
  return write_ok(m, {tensor("w", dtype_named("f32"), {1})}, {f32_bytes({1})});
}

std::string json_of(const Metadata& m) { return metadata_text(file_with(m)); }

Metadata read_json(const std::string& json) {
  RawFile f = worked_example();
  f.metadata = json;
  const auto bytes = f.build();
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "m.apr", bytes.data(), bytes.size());
  return open_ok(dir / "m.apr")->metadata();
}

Metadata read_back(const Metadata& m) { return read_json(json_of(m)); }

std::string write_error(const Metadata& m) {
  MemorySink sink;
  const Status s = write_model(sink, m, {tensor("w", dtype_named("f32"), {1})}, {f32_bytes({1})});
  return s.ok() ? "(written)" : s.message();
}

// Same keys, order, types and bits (MetaValue's == treats 0.0 and -0.0 as equal).
void check_same(const MetaValue& a, const MetaValue& b, const std::string& key) {
  BOOST_TEST_CONTEXT("key " << key) {
    BOOST_REQUIRE(a.type == b.type);
    if (a.type == MetaType::f32 || a.type == MetaType::f64) {
      if (std::isnan(a.real)) {
        BOOST_CHECK(std::isnan(b.real));
      } else {
        BOOST_CHECK_EQUAL(std::signbit(a.real), std::signbit(b.real));
        BOOST_CHECK_EQUAL(a.real, b.real);
      }
    } else if (a.type == MetaType::array) {
      BOOST_REQUIRE(a.element_type == b.element_type);
      BOOST_REQUIRE_EQUAL(a.elements.size(), b.elements.size());
      for (size_t i = 0; i < a.elements.size(); ++i) check_same(a.elements[i], b.elements[i], key);
    } else {
      BOOST_CHECK(a == b);
    }
  }
}

void check_same(const Metadata& got, const Metadata& want) {
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    BOOST_CHECK_EQUAL(got.entries()[i].key, want.entries()[i].key);
    check_same(got.entries()[i].value, want.entries()[i].value, want.entries()[i].key);
  }
}

MetaValue array_of(MetaType type, std::vector<MetaValue> items) {
  return MetaValue::make_array(type, std::move(items));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reading)

BOOST_AUTO_TEST_CASE(typed_fields_go_to_their_keys) {
  const Metadata m = read_json(
      R"({"model_type":"llm","name":"tiny","description":"d","author":"a","license":"MIT","data_source":"web",)"
      R"("data_license":null,"version":"1","source":"hf://x","original_format":"gguf","created_at":"2026",)"
      R"("total_size":10,"param_count":20,)"
      R"("quantization":{"quant_type":"q4","bits":4,"block_size":null,"symmetric":true,"future":1},)"
      R"("chat_template":"{{x}}","chat_format":"chatml","special_tokens":{"bos_token":"<s>","eos_token":null},)"
      R"("architecture":"llama","hf_architecture":"LlamaForCausalLM","hf_model_type":"llama","hidden_size":64,)"
      R"("num_layers":2,"num_heads":4,"num_kv_heads":2,"vocab_size":100,"intermediate_size":128,)"
      R"("max_position_embeddings":2048,"head_dim":16,"num_experts":8,"num_experts_per_tok":2,)"
      R"("moe_intermediate_size":32,"rope_theta":10000.0,"rms_norm_eps":1e-6,"rope_type":2,"custom":"c"})");
  const std::vector<std::pair<std::string, MetaValue>> want = {
      {"apr.model_type", MetaValue::make_string("llm")},
      {"general.name", MetaValue::make_string("tiny")},
      {"general.description", MetaValue::make_string("d")},
      {"general.author", MetaValue::make_string("a")},
      {"general.license", MetaValue::make_string("MIT")},
      {"apr.data_source", MetaValue::make_string("web")},
      {"general.version", MetaValue::make_string("1")},
      {"apr.source", MetaValue::make_string("hf://x")},
      {"apr.original_format", MetaValue::make_string("gguf")},
      {"apr.created_at", MetaValue::make_string("2026")},
      {"apr.total_size", MetaValue::make_u64(10)},
      {"apr.param_count", MetaValue::make_u64(20)},
      {"apr.quantization.quant_type", MetaValue::make_string("q4")},
      {"apr.quantization.bits", MetaValue::make_u32(4)},
      {"apr.quantization.symmetric", MetaValue::make_bool(true)},
      {"tokenizer.chat_template", MetaValue::make_string("{{x}}")},
      {"apr.chat_format", MetaValue::make_string("chatml")},
      {"apr.special_tokens.bos_token", MetaValue::make_string("<s>")},
      {"general.architecture", MetaValue::make_string("llama")},
      {"apr.hf_architecture", MetaValue::make_string("LlamaForCausalLM")},
      {"apr.hf_model_type", MetaValue::make_string("llama")},
      {"llama.embedding_length", MetaValue::make_u32(64)},
      {"llama.block_count", MetaValue::make_u32(2)},
      {"llama.attention.head_count", MetaValue::make_u32(4)},
      {"llama.attention.head_count_kv", MetaValue::make_u32(2)},
      {"llama.vocab_size", MetaValue::make_u32(100)},
      {"llama.feed_forward_length", MetaValue::make_u32(128)},
      {"llama.context_length", MetaValue::make_u32(2048)},
      {"llama.attention.key_length", MetaValue::make_u32(16)},
      {"llama.expert_count", MetaValue::make_u32(8)},
      {"llama.expert_used_count", MetaValue::make_u32(2)},
      {"llama.expert_feed_forward_length", MetaValue::make_u32(32)},
      {"llama.rope.freq_base", MetaValue::make_f32(10000.0f)},
      {"llama.attention.layer_norm_rms_epsilon", MetaValue::make_f32(1e-6f)},
      {"apr.rope_type", MetaValue::make_u32(2)},
      {"custom", MetaValue::make_string("c")},
  };
  Metadata expected;
  for (const auto& [k, v] : want) expected.append(k, v);
  check_same(m, expected);
}

BOOST_AUTO_TEST_CASE(shape_fields_without_an_architecture) {
  const Metadata m = read_json(R"({"model_type":"x","hidden_size":64,"rope_theta":500000.0})");
  BOOST_REQUIRE_EQUAL(m.size(), 3u);
  BOOST_CHECK_EQUAL(m.entries()[1].key, "apr.hidden_size");
  BOOST_CHECK_EQUAL(m.entries()[2].key, "apr.rope_theta");
  BOOST_CHECK(m.entries()[2].value == MetaValue::make_f32(500000.0f));
}

// Custom values take default types; what a MetaValue cannot hold stays JSON text.
BOOST_AUTO_TEST_CASE(custom_values) {
  const Metadata m = read_json(
      R"({"s":"x","b":false,"u":18446744073709551615,"i":-3,"f":0.5,"ints":[1,2],"neg":[1,-2],"floats":[1,2.5],)"
      R"("strs":["a"],"empty":[],"nested":[[1],["a"]],"obj":{"k":[1,{"z":null}]},"nul":null,"mixed":[1,"a"]})");
  BOOST_REQUIRE_EQUAL(m.size(), 14u);
  BOOST_CHECK(*m.find("s") == MetaValue::make_string("x"));
  BOOST_CHECK(*m.find("b") == MetaValue::make_bool(false));
  BOOST_CHECK(*m.find("u") == MetaValue::make_u64(std::numeric_limits<uint64_t>::max()));
  BOOST_CHECK(*m.find("i") == MetaValue::make_signed(MetaType::i64, -3));
  BOOST_CHECK(*m.find("f") == MetaValue::make_f64(0.5));
  BOOST_CHECK(*m.find("ints") == array_of(MetaType::u64, {MetaValue::make_u64(1), MetaValue::make_u64(2)}));
  BOOST_CHECK(*m.find("neg") == array_of(MetaType::i64, {MetaValue::make_signed(MetaType::i64, 1),
                                                         MetaValue::make_signed(MetaType::i64, -2)}));
  BOOST_CHECK(*m.find("floats") == array_of(MetaType::f64, {MetaValue::make_f64(1), MetaValue::make_f64(2.5)}));
  BOOST_CHECK(*m.find("strs") == array_of(MetaType::string, {MetaValue::make_string("a")}));
  BOOST_CHECK(m.find("empty")->type == MetaType::array);
  BOOST_CHECK(m.find("nested")->element_type == MetaType::array);
  BOOST_CHECK(*m.find("apr.json.obj") == MetaValue::make_string(R"({"k":[1,{"z":null}]})"));
  BOOST_CHECK(*m.find("apr.json.nul") == MetaValue::make_string("null"));
  BOOST_CHECK(*m.find("apr.json.mixed") == MetaValue::make_string(R"([1,"a"])"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(writing)

// §5's order, provenance fields as null, custom keys by bytes, compact, serde's numbers.
BOOST_AUTO_TEST_CASE(exact_text) {
  Metadata m;  // in the order reading gives, with the default types: no type list needed
  m.append("apr.model_type", MetaValue::make_string("m"));
  m.append("general.name", MetaValue::make_string("n \"q\"\n\x01/\xC3\xA9"));
  m.append("apr.quantization.quant_type", MetaValue::make_string("q4"));
  m.append("apr.quantization.bits", MetaValue::make_u32(4));
  m.append("general.architecture", MetaValue::make_string("llama"));
  m.append("llama.embedding_length", MetaValue::make_u32(64));
  m.append("llama.rope.freq_base", MetaValue::make_f32(10000.0f));
  m.append("llama.attention.layer_norm_rms_epsilon", MetaValue::make_f32(1e-6f));
  m.append("B", MetaValue::make_f64(1e-6));
  m.append("a", MetaValue::make_f64(0.1));
  m.append("z", MetaValue::make_f64(1e21));
  m.append("\xC3\xA9", MetaValue::make_f64(12345.678));
  const std::string want = R"({"model_type":"m","name":"n \"q\"\n\u0001/)"
                           "\xC3\xA9"
                           R"(","license":null,"data_source":null,"data_license":null,"total_size":0,"param_count":0,)"
                           R"("quantization":{"quant_type":"q4","bits":4,"block_size":null,"symmetric":false},)"
                           R"("architecture":"llama","hidden_size":64,"rope_theta":10000.0,"rms_norm_eps":0.000001,)"
                           R"("B":1e-6,"a":0.1,"z":1e21,)"
                           "\"\xC3\xA9\""
                           R"(:12345.678})";
  BOOST_CHECK_EQUAL(json_of(m), want);
  Metadata back = read_back(m);
  back.erase("apr.quantization.symmetric");  // written as false because the object needs it
  check_same(back, m);
}

BOOST_AUTO_TEST_CASE(f32_fields_use_ryu_layout) {
  const auto eps_text = [](float v) {
    Metadata m;
    m.append("apr.rms_norm_eps", MetaValue::make_f32(v));
    const std::string json = json_of(m);
    const size_t at = json.find("\"rms_norm_eps\":") + 15;
    return json.substr(at, json.find_first_of(",}", at) - at);
  };
  BOOST_CHECK_EQUAL(eps_text(1e-5f), "0.00001");
  BOOST_CHECK_EQUAL(eps_text(1e-6f), "0.000001");
  BOOST_CHECK_EQUAL(eps_text(1e-7f), "1e-7");
  BOOST_CHECK_EQUAL(eps_text(0.1f), "0.1");
  BOOST_CHECK_EQUAL(eps_text(10000.0f), "10000.0");
  BOOST_CHECK_EQUAL(eps_text(1e13f), "1e13");
  BOOST_CHECK_EQUAL(eps_text(1234567.0f), "1234567.0");
  BOOST_CHECK_EQUAL(eps_text(-2.5e-9f), "-2.5e-9");
  BOOST_CHECK_EQUAL(eps_text(0.0f), "0.0");
  BOOST_CHECK_EQUAL(eps_text(3.4028235e38f), "3.4028235e38");
}

// Zero-valued fields the writer emits in any case read back as absent, and need no type list.
BOOST_AUTO_TEST_CASE(zero_fields_are_defaults) {
  Metadata m;
  m.append("apr.model_type", MetaValue::make_string(""));
  m.append("apr.total_size", MetaValue::make_u32(0));
  m.append("general.name", MetaValue::make_string("x"));
  const std::string json = json_of(m);
  BOOST_CHECK_EQUAL(json.find("quantflow.metadata"), std::string::npos);
  const Metadata back = read_back(m);
  BOOST_REQUIRE_EQUAL(back.size(), 1u);
  BOOST_CHECK_EQUAL(back.entries()[0].key, "general.name");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(exact_travel)

// Everything GGUF metadata can hold comes back with its type, bits and order.
BOOST_AUTO_TEST_CASE(every_type_and_the_order) {
  Metadata m;
  m.append("general.architecture", MetaValue::make_string("llama"));
  m.append("t.u8", MetaValue::make_unsigned(MetaType::u8, 255));
  m.append("t.i8", MetaValue::make_signed(MetaType::i8, -128));
  m.append("t.u16", MetaValue::make_unsigned(MetaType::u16, 65535));
  m.append("t.i16", MetaValue::make_signed(MetaType::i16, -32768));
  m.append("llama.block_count", MetaValue::make_u32(4));
  m.append("t.i32", MetaValue::make_i32(-5));
  m.append("t.u64", MetaValue::make_u64(std::numeric_limits<uint64_t>::max()));
  m.append("t.i64", MetaValue::make_signed(MetaType::i64, std::numeric_limits<int64_t>::min()));
  m.append("t.f32", MetaValue::make_f32(0.1f));
  m.append("t.f32.nan", MetaValue::make_f32(NAN));
  m.append("t.f32.ninf", MetaValue::make_f32(-INFINITY));
  m.append("t.f64.negzero", MetaValue::make_f64(-0.0));
  m.append("t.f64.tiny", MetaValue::make_f64(5e-324));
  m.append("t.f64.inf", MetaValue::make_f64(INFINITY));
  m.append("t.bool", MetaValue::make_bool(true));
  m.append("t.str", MetaValue::make_string("tab\there \"quoted\" \xE2\x82\xAC"));
  m.append("t.empty", array_of(MetaType::i16, {}));
  m.append("t.floats", array_of(MetaType::f32, {MetaValue::make_f32(1.5f), MetaValue::make_f32(-0.0f)}));
  m.append("t.nested", array_of(MetaType::array, {array_of(MetaType::u8, {MetaValue::make_unsigned(MetaType::u8, 1)}),
                                                  array_of(MetaType::string, {MetaValue::make_string("x")})}));
  m.append("llama.rope.freq_base", MetaValue::make_f64(10000.5));
  m.append("general.name", MetaValue::make_u32(7));  // a field's key with another type: a custom key
  m.append("apr.json.raw", MetaValue::make_string(R"({"k": [1, null]})"));
  m.append("a.first.custom", MetaValue::make_string("order"));
  const std::string json = json_of(m);
  BOOST_CHECK_NE(json.find(R"("quantflow.metadata":[["general.architecture","string"],["t.u8","u8"],)"),
                 std::string::npos);
  BOOST_CHECK_NE(json.find(R"(["t.nested",{"elem":"array","items":[{"elem":"u8"},{"elem":"string"}]}])"),
                 std::string::npos);
  BOOST_CHECK_NE(json.find(R"("raw":{"k":[1,null]})"), std::string::npos);
  BOOST_CHECK_NE(json.find(R"("t.f32.nan":"nan")"), std::string::npos);
  BOOST_CHECK_NE(json.find(R"("num_layers":4)"), std::string::npos);
  BOOST_CHECK_NE(json.find(R"("rope_theta":10000.5)"), std::string::npos);
  Metadata want = m;
  want.assign("apr.json.raw", MetaValue::make_string(R"({"k":[1,null]})"));  // re-rendered compactly
  check_same(read_back(m), want);
}

// An APR file's own JSON survives APR -> APR unchanged, objects and nulls included.
BOOST_AUTO_TEST_CASE(apr_json_survives_a_copy) {
  const std::string json =
      R"({"model_type":"m","license":null,"data_source":null,"data_license":null,"total_size":5,"param_count":6,)"
      R"("special_tokens":{"bos_token":"<s>","eos_token":null,"unk_token":null,"pad_token":null,)"
      R"("im_start_token":null,"im_end_token":null},"an_object":{"x":[1,2.5,"s"],"y":{}},"list":[1,2],)"
      R"("nothing":null,"number":1e-7})";
  BOOST_CHECK_EQUAL(json_of(read_json(json)), json);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(refusals)

BOOST_AUTO_TEST_CASE(what_cannot_be_written) {
  Metadata m;
  m.append("k", MetaValue::make_string("bad \xFF byte"));
  BOOST_CHECK_EQUAL(write_error(m),
                    "metadata key 'k' holds a string that is not valid UTF-8, which APR's JSON metadata cannot carry");
  m = {};
  m.append("k\xFF", MetaValue::make_u32(1));
  BOOST_CHECK_EQUAL(write_error(m), "metadata key 'k\xFF' is not valid UTF-8, which APR's JSON metadata cannot carry");
  m = {};
  m.append("quantflow.metadata", MetaValue::make_string("[]"));
  BOOST_CHECK_EQUAL(write_error(m), "metadata key 'quantflow.metadata' is reserved for quantflow's APR type list");
  m = {};
  m.append("name", MetaValue::make_string("x"));
  BOOST_CHECK_EQUAL(
      write_error(m),
      "metadata key 'name' would be written as 'name', which is the name of an APR field; rename the key");
  m = {};
  m.append("apr.json.name", MetaValue::make_string("1"));
  BOOST_CHECK_EQUAL(write_error(m),
                    "metadata key 'apr.json.name' would be written as 'name', which is the name of an "
                    "APR field; rename the key");
  m = {};
  m.append("apr.json.x", MetaValue::make_string("{not json"));
  BOOST_CHECK_EQUAL(write_error(m), "metadata key 'apr.json.x' must hold JSON text, found {not json");
  m = {};
  m.append("apr.json.x", MetaValue::make_string("1"));
  m.append("x", MetaValue::make_string("2"));
  BOOST_CHECK_EQUAL(write_error(m), "metadata keys 'apr.json.x' and 'x' would both be written as 'x'");
  m = {};
  m.append("apr.total_size", MetaValue::make_string("big"));
  BOOST_CHECK_EQUAL(write_error(m),
                    "metadata key 'apr.total_size' (string) cannot be written as APR's field 'total_size'");
  m = {};
  m.append("general.architecture", MetaValue::make_string("llama"));
  m.append("llama.block_count", MetaValue::make_u32(2));
  m.append("num_hidden_layers", MetaValue::make_u32(2));
  BOOST_CHECK_EQUAL(write_error(m),
                    "metadata key 'num_hidden_layers' is an alias of APR's field 'num_layers', which "
                    "is written too; a file must not hold both");
  // The alias alone is an ordinary custom key.
  m.erase("llama.block_count");
  BOOST_CHECK_EQUAL(write_error(m), "(written)");
}

BOOST_AUTO_TEST_SUITE_END()
