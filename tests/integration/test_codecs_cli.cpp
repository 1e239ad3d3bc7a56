// Codecs through the command line: every encoding converts, importance matrices are applied
// by tensor name from both file forms, and every quantized tensor in ../shared decodes.
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/atomic_output.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using qf_test::cli;
using qf_test::quote;
using namespace quantflow;

namespace {

std::vector<float> tensor_as_f32(const Reader& reader, size_t index) {
  const TensorInfo& t = reader.tensors()[index];
  const auto* codec = qf_test::plugins().find(t.dtype.name);
  BOOST_REQUIRE_MESSAGE(codec && codec->decode, "no decoder for " << t.dtype.name);
  auto data = reader.read(index);
  BOOST_REQUIRE(data.ok());
  std::vector<float> out(element_count(t.shape));
  const EncodingRows rows = encoding_rows(t.dtype, t.shape);
  BOOST_REQUIRE_EQUAL(codec->decode(data->bytes.data(), out.data(), static_cast<int64_t>(rows.n_rows),
                                    static_cast<int64_t>(rows.n_per_row)),
                      QF_CODEC_OK);
  return out;
}

size_t index_of(const Reader& reader, const std::string& name) {
  for (size_t i = 0; i < reader.tensors().size(); ++i)
    if (reader.tensors()[i].name == name) return i;
  BOOST_FAIL("no tensor " << name);
  return 0;
}

std::vector<uint8_t> bytes_of(const Reader& reader, const std::string& name) {
  auto data = reader.read(index_of(reader, name));
  BOOST_REQUIRE(data.ok());
  const auto* p = reinterpret_cast<const uint8_t*>(data->bytes.data());
  return {p, p + data->bytes.size()};
}

std::unique_ptr<Reader> open(const fs::path& p) {
  auto r = qf_test::plugins().open_reader(p.string());
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  return std::move(r).value();
}

// Writes a GGUF importance matrix: `<name>.in_sum2` sums and `<name>.counts`.
void write_gguf_imatrix(const fs::path& path, const std::string& tensor, const std::vector<float>& sums, float count) {
  const auto* gguf = qf_test::plugins().find_container("gguf");
  BOOST_REQUIRE(gguf);
  auto sink = core::AtomicFileSink::create(path.string());
  BOOST_REQUIRE(sink.ok());
  auto writer = gguf->create_writer(**sink, qf_test::plugins(), {});
  BOOST_REQUIRE(writer.ok());
  Metadata meta;
  meta.append("general.type", MetaValue::make_string("imatrix"));
  meta.append("imatrix.chunk_count", MetaValue::make_u32(7));
  const DType f32{"f32", 1, 4, DTypeKind::floating};
  std::vector<TensorInfo> infos = {
      {tensor + ".in_sum2", f32, {1, sums.size()}, sums.size() * 4, 0},
      {tensor + ".counts", f32, {1, 1}, 4, 0},
  };
  BOOST_REQUIRE((*writer)->begin(meta, infos).ok());
  BOOST_REQUIRE((*writer)->write_tensor(0, std::as_bytes(std::span(sums))).ok());
  BOOST_REQUIRE((*writer)->write_tensor(1, std::as_bytes(std::span(&count, 1))).ok());
  BOOST_REQUIRE((*writer)->finish().ok());
  BOOST_REQUIRE((*sink)->commit().ok());
}

// The legacy layout: i32 entries; per entry i32 name length, name, i32 ncall, i32 nval,
// floats (stored multiplied by ncall); then i32 chunk count and a dataset name.
void write_legacy_imatrix(const fs::path& path, const std::string& tensor, const std::vector<float>& weights,
                          int32_t ncall) {
  std::string out;
  auto put_i32 = [&](int32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  put_i32(1);
  put_i32(static_cast<int32_t>(tensor.size()));
  out += tensor;
  put_i32(ncall);
  put_i32(static_cast<int32_t>(weights.size()));
  for (float w : weights) {
    const float stored = w * static_cast<float>(ncall);
    out.append(reinterpret_cast<const char*>(&stored), 4);
  }
  put_i32(12);
  put_i32(9);
  out += "wiki.test";
  qf_test::write_text(path, out);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_encoding_converts_and_decodes_back) {
  qf_test::TempDir tmp;
  const auto model = tmp / "m.gguf";
  BOOST_REQUIRE_EQUAL(cli("synth " + quote(model) + " --layers 1 --hidden 256 --ffn 512 --vocab 256").exit_code, 0);
  auto source = open(model);
  std::vector<std::string> names;
  for (const auto* c : qf_test::plugins().codecs())
    if (c->encode && c->decode && c->kind != static_cast<uint32_t>(DTypeKind::integer)) names.emplace_back(c->name);
  BOOST_REQUIRE_GE(names.size(), 28u);
  for (const auto& name : names) {
    BOOST_TEST_CONTEXT(name) {
      const auto* codec = qf_test::plugins().find(name);
      std::string extra;
      if (codec->flags & QF_CODEC_IMATRIX_REQUIRED) {
        // Unit weights for every matrix the conversion touches.
        std::string legacy;
        auto put_i32 = [&](int32_t v) { legacy.append(reinterpret_cast<const char*>(&v), 4); };
        std::vector<std::string> matrices;
        for (const auto& t : source->tensors())
          if (t.shape.size() == 2) matrices.push_back(t.name);
        put_i32(static_cast<int32_t>(matrices.size()));
        for (const auto& m : matrices) {
          const auto& t = source->tensors()[index_of(*source, m)];
          put_i32(static_cast<int32_t>(m.size()));
          legacy += m;
          put_i32(1);
          put_i32(static_cast<int32_t>(row_length(t.shape)));
          for (uint64_t i = 0; i < row_length(t.shape); ++i) {
            const float one = 1.0f;
            legacy.append(reinterpret_cast<const char*>(&one), 4);
          }
        }
        qf_test::write_text(tmp / "ones.dat", legacy);
        extra = " --imatrix " + quote(tmp / "ones.dat");
      }
      // Element types GGUF has no id for go to safetensors instead (which holds any block
      // encoding), APR's own to APR and MLX's to an MLX model folder.
      const bool gguf = !container_id(*codec, "gguf").empty() || codec->row_scale;
      const char* extension = gguf                                   ? ".gguf"
                              : !container_id(*codec, "apr").empty() ? ".apr"
                              : !container_id(*codec, "mlx").empty() ? "/"
                                                                     : ".safetensors";
      if (std::string(extension) == ".apr" && qf_test::plugins().find_container("apr") == nullptr) {
        BOOST_TEST_MESSAGE("skipped " << name << ": no APR container plugin is loaded");
        continue;
      }
      const std::string out = (tmp / name).string() + extension;
      auto r = cli("convert -q --type " + name + extra + " " + quote(model) + " " + quote(out));
      BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      auto converted = open(out);
      const auto& t = converted->tensors()[index_of(*converted, "token_embd.weight")];
      // Row-scaled encodings are stored as a typed pair: values, and scales per row.
      BOOST_CHECK_EQUAL(t.dtype.name, codec->row_scale ? codec->row_scale->values_dtype : name);
      if (codec->row_scale) {
        const auto& scale =
            converted
                ->tensors()[index_of(*converted, std::string("token_embd.weight") + codec->row_scale->scale_suffix)];
        BOOST_CHECK_EQUAL(scale.dtype.name, codec->row_scale->scale_dtype);
        BOOST_CHECK(scale.shape == Shape{256});
      }
      BOOST_CHECK_EQUAL(converted->tensors()[index_of(*converted, "blk.0.attn_norm.weight")].dtype.name, "f32");
      // Decoding through the CLI gives the same floats as the codec's own decoder.
      const auto back = tmp / (name + ".f32.gguf");
      auto d = cli("convert -q --type f32 " + quote(out) + " " + quote(back));
      BOOST_REQUIRE_MESSAGE(d.exit_code == 0, d.err);
      auto decoded = open(back);
      BOOST_CHECK_EQUAL(decoded->tensors()[index_of(*decoded, "token_embd.weight")].dtype.name, "f32");
      if (!codec->row_scale)
        BOOST_CHECK(tensor_as_f32(*decoded, index_of(*decoded, "token_embd.weight")) ==
                    tensor_as_f32(*converted, index_of(*converted, "token_embd.weight")));
      // The ggml types record ggml's file type.
      if (const auto ftype = container_id(*codec, "gguf.file_type"); gguf && !ftype.empty()) {
        const MetaValue* v = converted->metadata().find("general.file_type");
        BOOST_REQUIRE(v);
        BOOST_CHECK_EQUAL(std::to_string(v->integer), std::string(ftype));
        BOOST_CHECK_EQUAL(converted->metadata().entries().back().key, "general.file_type");
        BOOST_CHECK_EQUAL(converted->metadata().find("general.quantization_version")->integer, 2u);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(imatrix_is_required_where_ggml_requires_it) {
  qf_test::TempDir tmp;
  const auto model = tmp / "m.gguf";
  BOOST_REQUIRE_EQUAL(cli("synth " + quote(model) + " --layers 1 --hidden 256 --ffn 256 --vocab 256").exit_code, 0);
  for (const char* type : {"iq2_xxs", "iq2_xs", "iq1_s"}) {
    auto r = cli(std::string("convert --type ") + type + " " + quote(model) + " " + quote(tmp / "o.gguf"));
    BOOST_CHECK_EQUAL(r.exit_code, 2);
    BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + model.string() + ": tensor 'token_embd.weight': " + type +
                                 " needs an importance matrix; pass one with --imatrix FILE\n");
    BOOST_CHECK(!fs::exists(tmp / "o.gguf"));
  }
}

BOOST_AUTO_TEST_CASE(imatrix_files_apply_weights_by_tensor_name) {
  qf_test::TempDir tmp;
  const auto model = tmp / "m.gguf";
  BOOST_REQUIRE_EQUAL(cli("synth " + quote(model) + " --layers 1 --hidden 256 --ffn 256 --vocab 256").exit_code, 0);
  auto source = open(model);
  const std::string target = "blk.0.attn_q.weight";
  std::vector<float> weights(256);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = 0.25f + static_cast<float>((i * 37) % 101) / 25.0f;
  std::vector<float> sums(weights.size());
  for (size_t i = 0; i < sums.size(); ++i) sums[i] = weights[i] * 8.0f;  // counts = 8: means are `weights`
  write_gguf_imatrix(tmp / "im.gguf", target, sums, 8.0f);
  write_legacy_imatrix(tmp / "im.dat", target, weights, 4);

  const auto* q4k = qf_test::plugins().find("q4_k");
  const auto x = tensor_as_f32(*source, index_of(*source, target));
  std::vector<uint8_t> with(x.size() / 256 * 144), without(with.size());
  BOOST_REQUIRE_EQUAL(q4k->encode(x.data(), with.data(), static_cast<int64_t>(x.size() / 256), 256, weights.data()), 0);
  BOOST_REQUIRE_EQUAL(q4k->encode(x.data(), without.data(), static_cast<int64_t>(x.size() / 256), 256, nullptr), 0);
  BOOST_REQUIRE(with != without);

  for (const char* file : {"im.gguf", "im.dat"}) {
    const auto out = tmp / (std::string(file) + ".out.gguf");
    auto r = cli("convert -q --type q4_k --imatrix " + quote(tmp / file) + " " + quote(model) + " " + quote(out));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto converted = open(out);
    BOOST_CHECK_MESSAGE(bytes_of(*converted, target) == with, file << ": weighted tensor differs");
    // A tensor the file has no entry for is encoded without weights.
    const auto k = tensor_as_f32(*source, index_of(*source, "blk.0.attn_k.weight"));
    std::vector<uint8_t> plain(k.size() / 256 * 144);
    BOOST_REQUIRE_EQUAL(q4k->encode(k.data(), plain.data(), static_cast<int64_t>(k.size() / 256), 256, nullptr), 0);
    BOOST_CHECK(bytes_of(*converted, "blk.0.attn_k.weight") == plain);
  }

  // An entry of the wrong size is refused before anything is written.
  write_legacy_imatrix(tmp / "short.dat", target, std::vector<float>(100, 1.0f), 1);
  auto bad = cli("convert --type q4_k --imatrix " + quote(tmp / "short.dat") + " " + quote(model) + " " +
                 quote(tmp / "bad.gguf"));
  BOOST_CHECK_EQUAL(bad.exit_code, 2);
  BOOST_CHECK_EQUAL(bad.err, "quantflow: error: " + model.string() + ": tensor '" + target +
                                 "': the importance matrix " + (tmp / "short.dat").string() +
                                 " has 100 weights for it, expected 256\n");
  qf_test::write_text(tmp / "junk.dat", std::string("\xff\xff\xff\x7f", 4));
  auto junk = cli("convert --type q4_k --imatrix " + quote(tmp / "junk.dat") + " " + quote(model) + " " +
                  quote(tmp / "bad.gguf"));
  BOOST_CHECK_EQUAL(junk.exit_code, 2);
  BOOST_CHECK_EQUAL(junk.err, "quantflow: error: " + (tmp / "junk.dat").string() +
                                  ": not an importance matrix: implausible entry count 2147483647\n");
}

BOOST_AUTO_TEST_CASE(every_quantized_tensor_in_shared_testdata_decodes,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  size_t decoded = 0;
  for (const auto& entry : fs::recursive_directory_iterator(qf_test::shared_testdata())) {
    if (!entry.is_regular_file()) continue;
    const auto ext = entry.path().extension();
    if (ext != ".gguf" && ext != ".safetensors") continue;
    auto reader = qf_test::plugins().open_reader(entry.path().string());
    if (!reader.ok()) continue;  // refusals are covered by the CLI tests
    for (size_t i = 0; i < (*reader)->tensors().size(); ++i) {
      const auto& t = (*reader)->tensors()[i];
      if (t.dtype.kind == DTypeKind::integer) continue;
      const auto values = tensor_as_f32(**reader, i);
      size_t non_finite = 0;
      for (float v : values) non_finite += std::isfinite(v) ? 0 : 1;
      BOOST_CHECK_MESSAGE(non_finite == 0, entry.path().filename() << " " << t.name << ": non-finite values");
      ++decoded;
    }
  }
  BOOST_TEST_MESSAGE(decoded << " tensors decoded");
  BOOST_CHECK_GE(decoded, 339u);  // every non-integer tensor of every readable file
}

BOOST_AUTO_TEST_CASE(non_finite_values_are_refused_by_block_encodings) {
  qf_test::TempDir tmp;
  // A hand-written safetensors file: one F32 [2, 32] tensor whose 40th value is NaN.
  std::vector<float> values(64, 0.5f);
  values[39] = std::nanf("");
  std::string header = R"({"w":{"dtype":"F32","shape":[2,32],"data_offsets":[0,256]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string file(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(file.data(), &n, 8);
  file += header;
  file.append(reinterpret_cast<const char*>(values.data()), values.size() * 4);
  const auto in = tmp / "nan.safetensors";
  qf_test::write_text(in, file);
  auto r = cli("convert --type q8_0 " + quote(in) + " " + quote(tmp / "o.gguf"));
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_EQUAL(r.err, "quantflow: error: " + in.string() +
                               ": tensor 'w': q8_0 encode failed: the values contain NaN or infinity, which this "
                               "encoding cannot represent\n");
  BOOST_CHECK(!fs::exists(tmp / "o.gguf"));
  // A plain type carries them.
  auto f16 = cli("convert -q --type f16 " + quote(in) + " " + quote(tmp / "o16.gguf"));
  BOOST_CHECK_EQUAL(f16.exit_code, 0);
}

BOOST_AUTO_TEST_CASE(int8_per_channel_is_a_typed_pair_that_decodes_back) {
  qf_test::TempDir tmp;
  const auto model = tmp / "m.gguf";
  BOOST_REQUIRE_EQUAL(cli("synth " + quote(model) + " --layers 1 --hidden 64 --ffn 96 --vocab 32").exit_code, 0);
  auto source = open(model);
  const auto x = tensor_as_f32(*source, index_of(*source, "blk.0.ffn_down.weight"));  // [64, 96]
  for (const char* ext : {".gguf", ".safetensors"}) {
    const auto out = tmp / (std::string("i8") + ext);
    auto r = cli("convert -q --type int8_channel " + quote(model) + " " + quote(out));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto pair = open(out);
    const auto& values = pair->tensors()[index_of(*pair, "blk.0.ffn_down.weight")];
    const auto& scales = pair->tensors()[index_of(*pair, "blk.0.ffn_down.weight_scale")];
    BOOST_CHECK_EQUAL(values.dtype.name, "i8");
    BOOST_CHECK(values.shape == (Shape{64, 96}));
    BOOST_CHECK_EQUAL(scales.dtype.name, "f32");
    BOOST_CHECK(scales.shape == Shape{64});
    const auto q = bytes_of(*pair, "blk.0.ffn_down.weight");
    const auto s_bytes = bytes_of(*pair, "blk.0.ffn_down.weight_scale");
    for (size_t row = 0; row < 64; ++row) {
      float amax = 0, scale = 0;
      for (size_t i = 0; i < 96; ++i) amax = std::max(amax, std::fabs(x[row * 96 + i]));
      std::memcpy(&scale, s_bytes.data() + row * 4, 4);
      BOOST_CHECK_EQUAL(scale, amax / 127.0f);
      for (size_t i = 0; i < 96; ++i) {
        const auto qi = static_cast<int8_t>(q[row * 96 + i]);
        BOOST_CHECK_EQUAL(qi, static_cast<int8_t>(std::round(x[row * 96 + i] / scale)));
      }
    }
    // Dequantizing joins the pair again: one f32 tensor per pair, within half a step.
    const auto back = tmp / (std::string("back") + ext);
    auto d = cli("convert -q --type f32 " + quote(out) + " " + quote(back));
    BOOST_REQUIRE_MESSAGE(d.exit_code == 0, d.err);
    auto f = open(back);
    BOOST_CHECK_EQUAL(f->tensors().size(), source->tensors().size());
    const auto y = tensor_as_f32(*f, index_of(*f, "blk.0.ffn_down.weight"));
    for (size_t row = 0; row < 64; ++row) {
      float scale = 0;
      std::memcpy(&scale, s_bytes.data() + row * 4, 4);
      for (size_t i = 0; i < 96; ++i)
        BOOST_CHECK_LE(std::fabs(y[row * 96 + i] - x[row * 96 + i]), scale * 0.5f + 1e-7f);
    }
  }
}
