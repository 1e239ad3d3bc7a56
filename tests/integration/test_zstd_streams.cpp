// zstd streams around every container: inputs recognised by their magic and decoded as they
// are read (never whole), outputs compressed on their way into the atomic file, by name or
// with --compress / output.compress. Decoding here uses libzstd directly, so a test never
// trusts quantflow to check quantflow.
#include <zstd.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

using qf_test::cli;
using qf_test::quote;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The whole decoded content of a zstd file (test files are small enough to hold).
std::string zstd_decode(const fs::path& p) {
  const std::string compressed = slurp(p);
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  std::string out;
  std::vector<char> buffer(ZSTD_DStreamOutSize());
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer o{buffer.data(), buffer.size(), 0};
    const size_t rc = ZSTD_decompressStream(dctx.get(), &o, &in);
    BOOST_REQUIRE_MESSAGE(!ZSTD_isError(rc), p << ": " << ZSTD_getErrorName(rc));
    out.append(buffer.data(), o.pos);
  }
  return out;
}

// `text` compressed as a stream: no content size in the frame header, as `zstd -` writes it.
std::string zstd_encode_unsized(const std::string& text, int level) {
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 0);
  std::string out(ZSTD_compressBound(text.size()) + 64, '\0');
  ZSTD_inBuffer in{text.data(), text.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  const size_t left = ZSTD_compressStream2(cctx.get(), &o, &in, ZSTD_e_end);
  BOOST_REQUIRE(left == 0);
  out.resize(o.pos);
  return out;
}

bool is_zstd_file(const fs::path& p) { return slurp(p).rfind("\x28\xb5\x2f\xfd", 0) == 0; }

}  // namespace

BOOST_AUTO_TEST_CASE(an_output_named_zst_is_the_plain_file_compressed_and_reads_back_tensor_for_tensor) {
  qf_test::TempDir tmp;
  const auto model = qf_test::synth_model(tmp / "m.gguf", "--layers 2 --hidden 256 --ffn 512 --vocab 512");
  for (const char* ext : {".gguf", ".safetensors"}) {
    const auto plain = tmp / (std::string("plain") + ext), packed = tmp / (std::string("packed") + ext + ".zst");
    auto a = cli("convert -q " + quote(model) + " " + quote(plain) + " --type q8_0");
    auto b = cli("convert -q " + quote(model) + " " + quote(packed) + " --type q8_0");
    BOOST_REQUIRE_MESSAGE(a.exit_code == 0 && b.exit_code == 0, a.err + b.err);
    BOOST_TEST(is_zstd_file(packed));
    BOOST_TEST(fs::file_size(packed) < fs::file_size(plain));
    BOOST_TEST(zstd_decode(packed) == slurp(plain), ext << ": the decoded bytes equal the plain output");
    BOOST_TEST(qf_test::tensors_of(packed) == qf_test::tensors_of(plain));
    // And back to the plain container from the compressed file: identical bytes.
    const auto again = tmp / (std::string("again") + ext);
    auto c = cli("convert -q " + quote(packed) + " " + quote(again));
    BOOST_REQUIRE_MESSAGE(c.exit_code == 0, c.err);
    BOOST_TEST(slurp(again) == slurp(plain));
  }
}

BOOST_AUTO_TEST_CASE(compression_is_found_by_magic_whatever_the_name_and_inspect_says_so) {
  qf_test::TempDir tmp;
  const auto model = qf_test::synth_model(tmp / "m.gguf", "--layers 1 --hidden 128 --ffn 256 --vocab 256");
  // --compress writes exactly the name given, compressed.
  const auto disguised = tmp / "disguised.gguf";
  auto w = cli("convert -q " + quote(model) + " " + quote(disguised) + " --compress zstd:19");
  BOOST_REQUIRE_MESSAGE(w.exit_code == 0, w.err);
  BOOST_TEST(is_zstd_file(disguised));
  BOOST_TEST(zstd_decode(disguised) == slurp(model));
  auto text = cli("inspect " + quote(disguised));
  BOOST_REQUIRE_MESSAGE(text.exit_code == 0, text.err);
  BOOST_TEST(text.out.find("container:  gguf (version 3)\ncompression: zstd (the sizes below are decoded bytes)\n") !=
                 std::string::npos,
             text.out);
  auto json = cli("inspect --json " + quote(disguised));
  BOOST_TEST(nlohmann::json::parse(json.out)["compression"] == "zstd");
  auto plain_json = cli("inspect --json " + quote(model));
  BOOST_TEST(nlohmann::json::parse(plain_json.out)["compression"] == "");
}

BOOST_AUTO_TEST_CASE(a_stream_without_a_recorded_size_is_read_as_well) {
  qf_test::TempDir tmp;
  const auto model = qf_test::synth_model(tmp / "m.gguf", "--layers 1 --hidden 128 --ffn 256 --vocab 256");
  const auto packed = tmp / "streamed.gguf.zst";
  qf_test::write_text(packed, zstd_encode_unsized(slurp(model), 3));
  const auto out = tmp / "out.gguf";
  auto r = cli("convert -q " + quote(packed) + " " + quote(out));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(slurp(out) == slurp(model));
}

// Past the decoded prefix kept for headers (32 MiB) tensors are decoded on demand. The
// safetensors writer orders tensors by type, then name, so reading a GGUF source for it goes
// backwards in the file several times: each of those restarts the stream, and the bytes must
// be the same as from the plain file.
BOOST_AUTO_TEST_CASE(tensors_past_the_header_prefix_decode_in_any_order) {
  qf_test::TempDir tmp;
  const auto model = qf_test::synth_model(tmp / "m.gguf", "--layers 2 --hidden 1024 --ffn 4096 --vocab 4096");
  BOOST_REQUIRE_GT(fs::file_size(model), 64u << 20);
  const auto packed = tmp / "m.gguf.zst";
  auto c = cli("convert -q " + quote(model) + " " + quote(packed) + " --compress zstd:1");
  BOOST_REQUIRE_MESSAGE(c.exit_code == 0, c.err);
  const auto from_plain = tmp / "a.safetensors", from_packed = tmp / "b.safetensors";
  auto a = cli("convert -q " + quote(model) + " " + quote(from_plain) + " --type q8_0");
  auto b = cli("convert -q " + quote(packed) + " " + quote(from_packed) + " --type q8_0");
  BOOST_REQUIRE_MESSAGE(a.exit_code == 0 && b.exit_code == 0, a.err + b.err);
  BOOST_TEST(slurp(from_plain) == slurp(from_packed));
}

BOOST_AUTO_TEST_CASE(corrupt_and_truncated_streams_are_one_line_errors_and_leave_no_output) {
  qf_test::TempDir tmp;
  const auto model = qf_test::synth_model(tmp / "m.gguf", "--layers 1 --hidden 128 --ffn 256 --vocab 256");
  const auto packed = tmp / "m.gguf.zst";
  BOOST_REQUIRE_EQUAL(cli("convert -q " + quote(model) + " " + quote(packed) + " --compress zstd:3").exit_code, 0);
  const std::string good = slurp(packed);

  const auto truncated = tmp / "truncated.gguf.zst";
  qf_test::write_text(truncated, good.substr(0, good.size() / 2));
  auto r = cli("convert -q " + quote(truncated) + " " + quote(tmp / "out1.gguf"));
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.err.rfind("quantflow: error: " + truncated.string() +
                             ": corrupt or truncated zstd stream: a block runs past the end at compressed byte ",
                         0) == 0,
             r.err);

  // Flipping bytes inside the compressed blocks trips zstd's checks or its content checksum.
  std::string flipped = good;
  for (size_t i = flipped.size() / 2; i < flipped.size() / 2 + 16; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  const auto corrupt = tmp / "corrupt.gguf.zst";
  qf_test::write_text(corrupt, flipped);
  r = cli("convert -q " + quote(corrupt) + " " + quote(tmp / "out2.gguf"));
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.err.rfind("quantflow: error: " + corrupt.string() + ": corrupt zstd data near decoded byte ", 0) == 0,
             r.err);
  BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  BOOST_TEST(qf_test::listing(tmp.path) ==
             (std::vector<std::string>{"corrupt.gguf.zst", "m.gguf", "m.gguf.zst", "truncated.gguf.zst"}));
}

BOOST_AUTO_TEST_CASE(compress_option_errors_name_the_choices) {
  qf_test::TempDir tmp;
  const auto model = qf_test::synth_model(tmp / "m.gguf", "--layers 1 --hidden 128 --ffn 256 --vocab 256");
  auto r = cli("convert -q " + quote(model) + " " + quote(tmp / "o.gguf") + " --compress zstd:20");
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.err ==
             "quantflow: error: unknown compression 'zstd:20': use none, zstd or zstd:LEVEL (LEVEL 1 to 19)\n");
  r = cli("convert -q " + quote(model) + " " + quote(tmp / "o.gguf.zst") + " --compress none");
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.err == "quantflow: error: " + (tmp / "o.gguf.zst").string() +
                          ": the output name ends in .zst but compression is 'none'; drop one of them\n");
  BOOST_TEST(qf_test::listing(tmp.path) == std::vector<std::string>{"m.gguf"});
}

// A recipe asks with output.compress; split files keep the container's naming and each is a
// compressed stream; the index stays plain text next to them.
BOOST_AUTO_TEST_CASE(recipes_compress_split_outputs_file_by_file) {
  qf_test::TempDir tmp;
  const auto model = qf_test::synth_model(tmp / "m.gguf", "--layers 2 --hidden 256 --ffn 512 --vocab 512");
  const auto recipe = tmp / "r.yaml";
  qf_test::write_text(recipe, "inputs: " + model.string() + "\noutput:\n  path: " + (tmp / "out.safetensors").string() +
                                  "\n  split_size: 1M\n  compress: zstd:5\ndefault_type: q8_0\n");
  auto r = cli("run -q " + quote(recipe));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  // --compress on the command line overrides the recipe.
  auto p =
      cli("run -q " + quote(recipe) + " --compress none --set output.path=" + (tmp / "plain.safetensors").string());
  BOOST_REQUIRE_MESSAGE(p.exit_code == 0, p.err);
  for (const char* n : {"1", "2", "3"}) {
    BOOST_TEST(is_zstd_file(tmp / (std::string("out-0000") + n + "-of-00003.safetensors")));
    BOOST_TEST(zstd_decode(tmp / (std::string("out-0000") + n + "-of-00003.safetensors")) ==
               slurp(tmp / (std::string("plain-0000") + n + "-of-00003.safetensors")));
  }
  BOOST_TEST(slurp(tmp / "out.safetensors.index.json").find("\"out-00001-of-00003.safetensors\"") != std::string::npos);
  // Reading the split back through its index decodes each file.
  BOOST_TEST(qf_test::tensors_of(tmp / "out.safetensors.index.json") ==
             qf_test::tensors_of(tmp / "plain.safetensors.index.json"));

  qf_test::write_text(
      recipe, "inputs: " + model.string() + "\noutput:\n  path: " + (tmp / "z.gguf").string() + "\n  compress: gzip\n");
  r = cli("run -q " + quote(recipe));
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.err.find("r.yaml:4:13: unknown compression 'gzip'") != std::string::npos, r.err);
}
