// Quantized -> quantized without a float detour, through the CLI, with the toy codecs and
// transcoders of tests/plugins/toy_transcoder.cpp (whose qf_toy4 blocks record whether the
// transcoder or the encoder wrote them): convert, quantize and run use a transcoder where one
// exists, fall back to f32 per tensor where the values do not fit, say so in their summary,
// plan and report, write the same bytes at any thread count, and --no-direct turns it off.
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/json_schema.hpp"
#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const fs::path kToy = fs::path(QF_TEST_PLUGIN_DIR) / "toy";
const std::string kToyDir = " --plugin-dir " + quote(kToy) + " ";
constexpr uint8_t kTranscoded = 0xD1, kEncoded = 0x00;

// A synthetic model (token_embd is 2048 x 512: four row chunks) as toy codecs: attn_q once
// went through qf_toy4, so its values fit qf_toy4 again; the other matrices do not fit.
struct Model {
  qf_test::TempDir dir;
  fs::path toy8;  // every matrix qf_toy8
  Model() {
    const auto f32 = qf_test::synth_model(dir / "m.gguf", "--layers 1 --hidden 512 --ffn 1024 --vocab 2048");
    qf_test::write_text(dir / "mix.yaml",
                        "inputs: " + f32.string() + "\noutput:\n  path: " + (dir / "mix.gguf").string() +
                            "\ndefault_type: qf_toy8\ntensors:\n  - regex: attn_q\n    type: qf_toy4\n");
    auto mixed = cli("run -q" + kToyDir + quote(dir / "mix.yaml"));
    BOOST_REQUIRE_MESSAGE(mixed.exit_code == 0, mixed.err);
    toy8 = dir / "toy8.gguf";
    auto r = cli("convert" + kToyDir + quote(dir / "mix.gguf") + " " + quote(toy8) + " --type qf_toy8");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    // output.weight stays f32 (protected in recipes), then becomes qf_toy8 here with the rest.
    BOOST_CHECK_NE(r.out.find("\n1 tensor transcoded directly (lossless), 0 through f32 (not exactly representable)\n"),
                   std::string::npos);
  }
};

const Model& model() {
  static const Model m;
  return m;
}

// name -> stored bytes, read with the toy codecs loaded.
std::map<std::string, std::vector<uint8_t>> tensors(const fs::path& path) {
  quantflow::core::Registry r;
  r.load_directory(kToy.string());
  r.load_directory(QF_PLUGIN_DIR);
  auto reader = r.open_reader(path.string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  std::map<std::string, std::vector<uint8_t>> out;
  for (size_t i = 0; i < (*reader)->tensors().size(); ++i) {
    auto data = (*reader)->read(i);
    BOOST_REQUIRE(data.ok());
    const auto* p = reinterpret_cast<const uint8_t*>(data->bytes.data());
    out[(*reader)->tensors()[i].name] = {p, p + data->bytes.size()};
  }
  return out;
}

// The origin bytes of a qf_toy4 tensor's blocks.
std::set<uint8_t> origins(const std::vector<uint8_t>& toy4) {
  std::set<uint8_t> out;
  for (size_t i = 1; i < toy4.size(); i += 2) out.insert(toy4[i]);
  return out;
}

const json& schema() {
  static const json loaded = [] {
    std::ifstream in(qf_test::repo_dir() / "docs" / "json.schema.json");
    return json::parse(in);
  }();
  return loaded;
}

}  // namespace

BOOST_AUTO_TEST_CASE(convert_repacks_what_fits_and_falls_back_per_tensor_at_any_thread_count) {
  const Model& m = model();
  const auto one = m.dir / "one.gguf", two = m.dir / "two.gguf";
  auto r1 = cli("convert" + kToyDir + quote(m.toy8) + " " + quote(one) + " --type qf_toy4 --threads 1");
  auto r2 = cli("convert" + kToyDir + quote(m.toy8) + " " + quote(two) + " --type qf_toy4 --threads 2");
  BOOST_REQUIRE_MESSAGE(r1.exit_code == 0 && r2.exit_code == 0, r1.err + r2.err);
  const std::string summary = "\n1 tensor transcoded directly (lossless), 8 through f32 (not exactly representable)\n";
  BOOST_CHECK_NE(r1.out.find(summary), std::string::npos);
  BOOST_CHECK_NE(r2.out.find(summary), std::string::npos);
  BOOST_CHECK(qf_test::read_bytes(one) == qf_test::read_bytes(two));
  for (const auto& [name, bytes] : tensors(one)) {
    if (name.find("norm") != std::string::npos) continue;  // f32 vectors, kept
    const uint8_t want = name == "blk.0.attn_q.weight" ? kTranscoded : kEncoded;
    BOOST_CHECK_MESSAGE(origins(bytes) == std::set<uint8_t>{want}, name);
  }
}

BOOST_AUTO_TEST_CASE(no_direct_decodes_and_encodes_every_tensor) {
  const Model& m = model();
  const auto direct = m.dir / "direct.gguf", plain = m.dir / "plain.gguf";
  auto a = cli("convert -q" + kToyDir + quote(m.toy8) + " " + quote(direct) + " --type qf_toy4");
  auto b = cli("convert" + kToyDir + quote(m.toy8) + " " + quote(plain) + " --type qf_toy4 --no-direct");
  BOOST_REQUIRE_MESSAGE(a.exit_code == 0 && b.exit_code == 0, a.err + b.err);
  BOOST_CHECK_EQUAL(b.out.find("transcoded directly"), std::string::npos);
  auto d = tensors(direct), p = tensors(plain);
  BOOST_CHECK(origins(p["blk.0.attn_q.weight"]) == std::set<uint8_t>{kEncoded});
  // The same codes either way: the values fit, so the encoder finds them too.
  auto codes = [](const std::vector<uint8_t>& toy4) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i < toy4.size(); i += 2) out.push_back(toy4[i]);
    return out;
  };
  BOOST_CHECK(codes(d["blk.0.attn_q.weight"]) == codes(p["blk.0.attn_q.weight"]));
  d.erase("blk.0.attn_q.weight");
  p.erase("blk.0.attn_q.weight");
  BOOST_CHECK(d == p);
}

BOOST_AUTO_TEST_CASE(the_report_says_which_tensors_went_direct) {
  const Model& m = model();
  auto r = cli("convert -q" + kToyDir + quote(m.toy8) + " " + quote(m.dir / "rep.gguf") + " --type qf_toy4 --report " +
               quote(m.dir / "r.json"));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::ifstream in(m.dir / "r.json");
  const json report = json::parse(in);
  BOOST_CHECK_EQUAL(qf_test::check_schema(schema()["definitions"]["report"], report, schema(), "report"), "");
  std::map<std::string, std::string> routes;
  for (const auto& t : report["tensors"])
    if (t.contains("route")) routes[t["name"]] = t["route"];
  BOOST_CHECK_EQUAL(routes.size(), 9u);
  BOOST_CHECK_EQUAL(routes["blk.0.attn_q.weight"], "direct");
  BOOST_CHECK_EQUAL(routes["blk.0.ffn_up.weight"], "via_f32");
  BOOST_CHECK_EQUAL(report["totals"]["transcoded_directly"], 1);
  BOOST_CHECK_EQUAL(report["totals"]["transcoded_via_f32"], 8);
  for (const auto& t : report["tensors"])
    if (t["name"] == "blk.0.attn_q.weight") BOOST_CHECK_EQUAL(t["max_abs_error"], 0.0);
}

BOOST_AUTO_TEST_CASE(plans_say_direct_or_direct_where_exact) {
  const Model& m = model();
  qf_test::write_text(m.dir / "plan.yaml", "inputs: " + (m.dir / "mix.gguf").string() + "\noutput:\n  path: " +
                                               (m.dir / "plan.gguf").string() + "\ndefault_type: qf_toy4\n");
  auto text = cli("run --dry-run" + kToyDir + quote(m.dir / "plan.yaml"));
  BOOST_REQUIRE_MESSAGE(text.exit_code == 0, text.err);
  BOOST_CHECK_NE(text.out.find("  blk.0.attn_k.weight -> blk.0.attn_k.weight  qf_toy8 -> qf_toy4  131072 bytes  "
                               "(direct where exact, else via f32)\n"),
                 std::string::npos);
  BOOST_CHECK_NE(text.out.find("  blk.0.attn_q.weight -> blk.0.attn_q.weight  qf_toy4 -> qf_toy4  262144 bytes\n"),
                 std::string::npos);
  auto off = cli("run --dry-run --no-direct" + kToyDir + quote(m.dir / "plan.yaml"));
  BOOST_CHECK_EQUAL(off.out.find("direct"), std::string::npos);

  auto plan = json::parse(cli("run --dry-run --json" + kToyDir + quote(m.dir / "plan.yaml")).out);
  BOOST_CHECK_EQUAL(qf_test::check_schema(schema()["definitions"]["event"], plan, schema(), "event"), "");
  size_t routed = 0;
  for (const auto& t : plan["tensors"])
    if (t.contains("route")) {
      BOOST_CHECK_EQUAL(t["route"], "direct where exact, else via f32");
      ++routed;
    }
  BOOST_CHECK_EQUAL(routed, 6u);  // the qf_toy8 matrices; output.weight is protected

  auto quantize = cli("quantize --dry-run --allow-requantize --tensor-type attn_q=qf_toy8" + kToyDir +
                      quote(m.dir / "mix.gguf") + " " + quote(m.dir / "q.gguf") + " Q8_0");
  BOOST_REQUIRE_MESSAGE(quantize.exit_code == 0, quantize.err);
  BOOST_CHECK_NE(quantize.out.find("  qf_toy4  -> qf_toy8         262144  (direct)\n"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(plugins_lists_transcoders_and_whether_they_are_usable) {
  auto text = cli("plugins" + kToyDir + "--plugin-dir " + quote(fs::path(QF_TEST_PLUGIN_DIR) / "transcoder_cases"));
  BOOST_CHECK_NE(text.out.find("  qf-transcoder-toy 1.0  [codec qf_toy8, codec qf_toy4, 2 transcoders]\n"),
                 std::string::npos);
  BOOST_CHECK_NE(text.out.find("    transcoder qf_toy8 -> qf_toy4: exact or falls back to f32\n"
                               "    transcoder qf_toy4 -> qf_toy8: always exact\n"),
                 std::string::npos);
  BOOST_CHECK_NE(
      text.out.find("    transcoder qf_nowhere -> q8_0: always exact (unusable: codec qf_nowhere not loaded)\n"),
      std::string::npos);
  const json listing = json::parse(cli("plugins --json" + kToyDir).out);
  BOOST_CHECK_EQUAL(qf_test::check_schema(schema()["definitions"]["plugins"], listing, schema(), "plugins"), "");
  for (const auto& p : listing["plugins"])
    if (p["name"] == "qf-transcoder-toy")
      BOOST_CHECK_EQUAL(p["transcoders"].dump(),
                        R"([{"always_exact":false,"from":"qf_toy8","to":"qf_toy4","usable":true},)"
                        R"({"always_exact":true,"from":"qf_toy4","to":"qf_toy8","usable":true}])");
}

BOOST_AUTO_TEST_CASE(plugin_check_proves_the_toy_transcoders_exact) {
  // (The toy codecs themselves fail the codec checks: their range is a toy's.)
  auto r = cli("plugin-check" + kToyDir + quote(kToy / "qf_transcoder_toy.so"));
  BOOST_CHECK_EQUAL(r.out.find("FAIL  transcoder"), std::string::npos);
  for (const char* line : {
           "PASS  transcoder qf_toy8 -> qf_toy4: exactness: decoded values equal bit for bit on 1 input(s); 4 reported "
           "QF_CODEC_INEXACT",
           "PASS  transcoder qf_toy8 -> qf_toy4: codecs: qf_toy8 and qf_toy4 are loaded",
           "PASS  transcoder qf_toy8 -> qf_toy4: bad_row_length: a row of 3 elements returns QF_CODEC_BAD_ROW_LENGTH",
           "PASS  transcoder qf_toy4 -> qf_toy8: exactness: decoded values equal bit for bit on 5 input(s); 0 reported "
           "QF_CODEC_INEXACT",
           "PASS  transcoder qf_toy4 -> qf_toy8: determinism: the same input gives the same bytes, every byte written",
       })
    BOOST_CHECK_MESSAGE(r.out.find(std::string("\n") + line + "\n") != std::string::npos, line << "\n" << r.out);
  const json report = json::parse(cli("plugin-check --json" + kToyDir + quote(kToy / "qf_transcoder_toy.so")).out);
  BOOST_CHECK_EQUAL(qf_test::check_schema(schema()["definitions"]["plugin_check"], report, schema(), "plugin_check"),
                    "");
  // One flagged always exact that clamps what does not fit fails with the element.
  auto liar = cli("plugin-check " + quote(fs::path(QF_TEST_PLUGIN_DIR) / "liar" / "qf_transcoder_liar.so"));
  BOOST_CHECK_EQUAL(liar.exit_code, 1);
  BOOST_CHECK_NE(liar.out.find("\nFAIL  transcoder qf_liar8 -> qf_liar4: exactness: constants encoded as qf_liar8: "
                               "element 0 decodes to 0.12402344 from qf_liar8 but to 0.0068359375 after transcoding to "
                               "qf_liar4\n"),
                 std::string::npos);
  // A transcoder whose codec is nowhere is checked as a descriptor only.
  auto orphan =
      cli("plugin-check " + quote(fs::path(QF_TEST_PLUGIN_DIR) / "transcoder_cases" / "qf_transcoder_orphan.so"));
  BOOST_CHECK_EQUAL(orphan.exit_code, 0);
  BOOST_CHECK_NE(orphan.out.find("\nSKIP  transcoder qf_nowhere -> q8_0: codecs: not loaded: qf_nowhere (the behaviour "
                                 "checks need both codecs)\n"),
                 std::string::npos);
}
