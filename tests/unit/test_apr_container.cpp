// The APR container plugin through its descriptor, as the host uses it: the spec's worked
// example byte for byte (apr.md §11), the reader checklist (§10) with every refusal's message,
// dtypes, compressed tensors, the writer's refusals, APR v1 and aprender-tsp files.
#include <cmath>
#include <sstream>

#include "support/apr_files.hpp"

namespace {

using namespace qf_apr;

// apr.md §11, as printed there (the JSON line and the zero rows written out).
const char* const kWorkedExampleHex[] = {
    "41 50 52 00 02 00 00 04 01 00 00 00 40 00 00 00",
    "00 00 00 00 6d 00 00 00 c0 00 00 00 00 00 00 00",
    "00 01 00 00 00 00 00 00 3b 99 b8 9b 00 00 00 00",
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    "7b 22 6d 6f 64 65 6c 5f 74 79 70 65 22 3a 22 65",
    "78 61 6d 70 6c 65 22 2c 22 6c 69 63 65 6e 73 65",
    "22 3a 6e 75 6c 6c 2c 22 64 61 74 61 5f 73 6f 75",
    "72 63 65 22 3a 6e 75 6c 6c 2c 22 64 61 74 61 5f",
    "6c 69 63 65 6e 73 65 22 3a 6e 75 6c 6c 2c 22 74",
    "6f 74 61 6c 5f 73 69 7a 65 22 3a 30 2c 22 70 61",
    "72 61 6d 5f 63 6f 75 6e 74 22 3a 34 7d 00 00 00",
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    "01 00 77 00 02 02 00 00 00 00 00 00 00 02 00 00",
    "00 00 00 00 00 00 00 00 00 00 00 00 00 10 00 00",
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    "00 00 80 3f 00 00 00 40 00 00 40 40 00 00 80 40",
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    "47 70 05 7f",
};

std::vector<uint8_t> worked_example_bytes() {
  std::vector<uint8_t> out;
  for (const char* line : kWorkedExampleHex) {
    std::istringstream in(line);
    for (unsigned b; in >> std::hex >> b;) out.push_back(static_cast<uint8_t>(b));
  }
  return out;
}

Metadata worked_example_metadata() {
  Metadata m;
  m.set("apr.model_type", MetaValue::make_string("example"));
  m.set("apr.param_count", MetaValue::make_u64(4));
  return m;
}

std::string with_prefix(const std::string& error) {
  const std::string prefix = "bad.apr: ";
  const size_t at = error.find(prefix);
  return at == std::string::npos ? error : error.substr(at + prefix.size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(worked_example_file)

BOOST_AUTO_TEST_CASE(the_writer_makes_it_byte_for_byte) {
  const auto want = worked_example_bytes();
  BOOST_REQUIRE_EQUAL(want.size(), 324u);
  const auto file =
      write_ok(worked_example_metadata(), {tensor("w", dtype_named("f32"), {2, 2})}, {f32_bytes({1, 2, 3, 4})});
  BOOST_CHECK_EQUAL_COLLECTIONS(file.begin(), file.end(), want.begin(), want.end());
  BOOST_CHECK_EQUAL(get<uint32_t>(file, 40), 0x9BB8993Bu);
  BOOST_CHECK_EQUAL(get<uint32_t>(file, 320), 0x7F057047u);
  // The test's own builder and CRC agree with the spec too.
  const auto built = worked_example().build();
  BOOST_CHECK_EQUAL_COLLECTIONS(built.begin(), built.end(), want.begin(), want.end());
}

BOOST_AUTO_TEST_CASE(the_reader_parses_it_field_by_field) {
  const auto bytes = worked_example_bytes();
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "example.apr", bytes.data(), bytes.size());
  auto r = open_ok(dir / "example.apr");
  BOOST_CHECK_EQUAL(r->container(), "apr");
  BOOST_CHECK_EQUAL(r->version(), "2.0");
  // model_type and param_count; total_size 0 and the null provenance fields are absent.
  BOOST_CHECK(r->metadata() == worked_example_metadata());
  BOOST_REQUIRE_EQUAL(r->tensors().size(), 1u);
  const TensorInfo& w = r->tensors()[0];
  BOOST_CHECK_EQUAL(w.name, "w");
  BOOST_CHECK(w.dtype == dtype_named("f32"));
  BOOST_CHECK(w.shape == (Shape{2, 2}));
  BOOST_CHECK_EQUAL(w.n_bytes, 16u);
  BOOST_CHECK_EQUAL(w.offset, 0u);
  BOOST_CHECK(tensor_bytes(*r, 0) == f32_bytes({1, 2, 3, 4}));
  BOOST_CHECK_EQUAL(property(*r, "flags"), "LAYOUT_ROW_MAJOR");
  BOOST_CHECK_EQUAL(property(*r, "metadata_bytes"), "109");
  BOOST_CHECK_EQUAL(property(*r, "tensor_index_offset"), "192");
  BOOST_CHECK_EQUAL(property(*r, "data_offset"), "256");
  BOOST_CHECK_EQUAL(property(*r, "header_checksum"), "0x9BB8993B (ok)");
  BOOST_CHECK_EQUAL(property(*r, "footer_checksum"), "0x7F057047 (ok)");
  BOOST_CHECK_EQUAL(property(*r, "tensor_compression"), "none");
  BOOST_CHECK_EQUAL(property(*r, "magic"), "(absent)");
}

// §11's cross-check: aprender's golden model is 516 bytes from its current writer.
BOOST_AUTO_TEST_CASE(golden_v2_is_516_bytes) {
  Metadata m;
  m.set("apr.model_type", MetaValue::make_string("linear_regression"));
  m.set("general.name", MetaValue::make_string("golden-v2"));
  m.set("general.version", MetaValue::make_string("0.0.0-golden"));
  m.set("apr.created_at", MetaValue::make_string("1700000000"));
  m.set("apr.param_count", MetaValue::make_u64(8));
  const DType f32 = dtype_named("f32");
  const auto file = write_ok(m, {tensor("weights", f32, {8}), tensor("bias", f32, {1})},
                             {f32_bytes({1, 2, 0.5f, -0.5f, 4, -2, 0.25f, 8}), f32_bytes({0.125f})});
  BOOST_CHECK_EQUAL(file.size(), 516u);
  BOOST_CHECK_EQUAL(metadata_text(file),
                    R"({"model_type":"linear_regression","name":"golden-v2","license":null,"data_source":null,)"
                    R"("data_license":null,"version":"0.0.0-golden","created_at":"1700000000","total_size":0,)"
                    R"("param_count":8})");
  // The index is sorted by name; the data keeps the given order.
  const uint64_t index = get<uint64_t>(file, 24), data = get<uint64_t>(file, 32);
  BOOST_CHECK_EQUAL(std::string(reinterpret_cast<const char*>(file.data()) + index + 2, 4), "bias");
  BOOST_CHECK_EQUAL(get<uint64_t>(file, index + 2 + 4 + 2 + 8), 64u);  // bias after weights' 32 padded bytes
  BOOST_CHECK_EQUAL(get<float>(file, data), 1.0f);
  BOOST_CHECK_EQUAL(get<float>(file, data + 64), 0.125f);
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "golden.apr", file.data(), file.size());
  auto r = open_ok(dir / "golden.apr");
  BOOST_CHECK(r->metadata() == m);
  BOOST_REQUIRE_EQUAL(r->tensors().size(), 2u);
  BOOST_CHECK_EQUAL(r->tensors()[0].name, "weights");  // listed in data order
  BOOST_CHECK(tensor_bytes(*r, 1) == f32_bytes({0.125f}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reader_checklist)

BOOST_AUTO_TEST_CASE(every_refusal_names_its_reason) {
  const auto base = worked_example().build();
  const auto refused = [](std::vector<uint8_t> bytes) { return with_prefix(open_error(bytes)); };
  const auto patched = [&](size_t at, auto value, bool fix = true) {
    auto f = base;
    put(f, at, value);
    if (fix) fix_checksums(f);
    return f;
  };

  BOOST_CHECK_EQUAL(refused(std::vector<uint8_t>(base.begin(), base.begin() + 40)),
                    "truncated APR file: 40 bytes, fewer than the 64-byte header and 4-byte footer need");
  BOOST_CHECK_EQUAL(refused(std::vector<uint8_t>{0x41, 0x50}), "file is 2 bytes, too short for an APR header");
  BOOST_CHECK_EQUAL(refused(patched(44, uint8_t{1}, false)), "header checksum mismatch: stored 0x9BB8993B, computed " +
                                                                 hex32(header_crc(patched(44, uint8_t{1}, false))));
  {
    auto f = base;
    f[0x100] ^= 1;  // a tensor byte
    BOOST_CHECK_EQUAL(refused(f), "footer checksum mismatch: stored 0x7F057047, computed " + hex32(footer_crc(f)));
  }
  BOOST_CHECK_EQUAL(refused(patched(4, uint8_t{3})), "APR version 3.0 is not supported; quantflow reads APR v2");
  BOOST_CHECK(refused(patched(6, uint16_t{0x0C00})).starts_with("the LAYOUT_COLUMN_MAJOR flag is set"));
  BOOST_CHECK_EQUAL(refused(patched(6, uint16_t{0x0404})),
                    "the ENCRYPTED flag is set: encrypted APR files are not supported");
  BOOST_CHECK_EQUAL(refused(patched(20, uint32_t{0xFFFFFFFF})),
                    "metadata_size 4294967295 exceeds the limit of 16777216 bytes");
  BOOST_CHECK_EQUAL(refused(patched(20, uint32_t{1000})),
                    "metadata extends past end of file: 1000 bytes at offset 64 (file 324 bytes)");
  BOOST_CHECK_EQUAL(refused(patched(32, uint64_t{4096})),
                    "data_offset 4096 lies past the end of the data (file 324 bytes)");
  BOOST_CHECK_EQUAL(refused(patched(24, uint64_t{0x140})), "tensor_index_offset 320 lies after data_offset 256");
  BOOST_CHECK_EQUAL(refused(patched(8, uint32_t{1000})), "tensor_count 1000 cannot fit in the 64-byte tensor index");
  // The padding after the one entry reads as an entry with an empty name, out of order.
  BOOST_CHECK_EQUAL(refused(patched(8, uint32_t{2})), "the tensor index is not sorted by name: '' follows 'w'");
  BOOST_CHECK_EQUAL(refused(patched(0, uint32_t{0x4E52504B})), "not an APR file (the magic is not APR\\0)");
}

BOOST_AUTO_TEST_CASE(index_and_tensor_rules) {
  const auto refused = [](RawFile f) { return with_prefix(open_error(f.build())); };
  RawFile f = worked_example();
  f.tensors[0].index_offset = 4096;
  BOOST_CHECK_EQUAL(refused(f),
                    "tensor 'w': extends past end of file: 16 bytes at data offset 4096 (data ends at byte 320)");
  f = worked_example();
  f.tensors[0].index_offset = 0xFFFFFFFFFFFFFFF0ull;
  BOOST_CHECK(
      refused(f).starts_with("tensor 'w': extends past end of file: 16 bytes at data offset 18446744073709551600"));
  f = worked_example();
  f.tensors[0].offset = 4;
  BOOST_CHECK_EQUAL(refused(f), "tensor 'w': data at file offset 260 is not aligned to 64 bytes");
  f = worked_example();
  f.tensors[0].size = 12;
  BOOST_CHECK_EQUAL(refused(f), "tensor 'w': stores 12 bytes, but f32 [2, 2] needs 16");
  f = worked_example();
  f.tensors[0].dtype = 2;
  BOOST_CHECK_EQUAL(refused(f), "tensor 'w': invalid dtype id 2");
  f = worked_example();
  f.tensors[0].dims = {1, 1, 1, 1, 1, 1, 1, 2, 2};
  BOOST_CHECK_EQUAL(refused(f), "tensor 'w': ndim 9 exceeds APR's limit of 8");
  f = worked_example();
  f.tensors[0].dtype = 12;  // Q4_K rows must be whole 256-element blocks
  BOOST_CHECK_EQUAL(refused(f), "tensor 'w': shape [2, 2]: rows of q4_k must be a multiple of 256 elements");

  const auto two = [](const char* a, const char* b) {
    RawFile g;
    g.tensors.push_back(raw_tensor(a, 0, {1}, f32_bytes({1})));
    g.tensors.push_back(raw_tensor(b, 0, {1}, f32_bytes({2})));
    return g;
  };
  BOOST_CHECK_EQUAL(refused(two("b", "a")), "tensor 'a': the tensor index is not sorted by name: 'a' follows 'b'");
  BOOST_CHECK_EQUAL(refused(two("a", "a")), "tensor 'a': duplicate tensor name in the tensor index");
  // Byte order, not locale order: 'B' (0x42) sorts before 'a' (0x61).
  BOOST_CHECK_EQUAL(refused(two("B", "a")), "(opened)");
  BOOST_CHECK_EQUAL(refused(two("\xC3\xA9", "a")),
                    "tensor 'a': the tensor index is not sorted by name: 'a' follows '\xC3\xA9'");
  BOOST_CHECK_EQUAL(refused(two("a", "b\xFF")), "tensor index entry #1: the name is not valid UTF-8 (byte 1)");
}

BOOST_AUTO_TEST_CASE(metadata_rules) {
  const auto refused = [](std::string json) {
    RawFile f = worked_example();
    f.metadata = std::move(json);
    return with_prefix(open_error(f.build()));
  };
  BOOST_CHECK(refused(R"({"model_type":)").starts_with("the metadata is not valid JSON: "));
  BOOST_CHECK_EQUAL(refused("[1]"), "the metadata JSON is not an object");
  BOOST_CHECK_EQUAL(refused(R"({"a":1,"a":2})"), "the metadata JSON has the key 'a' twice");
  BOOST_CHECK_EQUAL(refused(R"({"name":5})"), "metadata field 'name' must be a string, found 5");
  BOOST_CHECK_EQUAL(refused(R"({"param_count":-1})"),
                    "metadata field 'param_count' must be a non-negative integer, found -1");
  BOOST_CHECK_EQUAL(refused(R"({"quantization":{"bits":"four"}})"),
                    "metadata field 'quantization.bits' must be a non-negative integer, found \"four\"");
  BOOST_CHECK_EQUAL(refused(R"({"name":"x","general.name":"y"})"),
                    "two metadata entries become the key 'general.name'");
  BOOST_CHECK_EQUAL(refused(std::string(100, '[') + std::string(100, ']')),
                    "the metadata JSON nests deeper than 64 levels");
  BOOST_CHECK_EQUAL(refused(R"({"quantflow.metadata":[["nope","u8"]]})"),
                    "metadata key 'quantflow.metadata' lists the key 'nope', which the metadata does not hold");
  BOOST_CHECK_EQUAL(refused(R"({"k":300,"quantflow.metadata":[["k","u8"]]})"),
                    "metadata key 'quantflow.metadata': key 'k': a u8 value must be in range, found 300");
  // Older writers spelled every optional field as null; unknown keys are kept.
  RawFile f = worked_example();
  f.metadata = R"({"model_type":"m","name":null,"quantization":null,"hidden_size":null,"extra":[1,2]})";
  const auto bytes = f.build();
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "old.apr", bytes.data(), bytes.size());
  auto r = open_ok(dir / "old.apr");
  BOOST_REQUIRE_EQUAL(r->metadata().size(), 2u);
  BOOST_CHECK_EQUAL(r->metadata().entries()[0].key, "apr.model_type");
  BOOST_CHECK_EQUAL(r->metadata().entries()[1].key, "extra");
  BOOST_CHECK(r->metadata().entries()[1].value.element_type == MetaType::u64);
}

BOOST_AUTO_TEST_CASE(compression_flags) {
  RawFile f = worked_example();
  f.flags = 0x0401;  // LZ4_COMPRESSED over raw data: readable
  const auto raw = f.build();
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "lz4.apr", raw.data(), raw.size());
  auto r = open_ok(dir / "lz4.apr");
  BOOST_CHECK_EQUAL(property(*r, "tensor_compression"), "none (LZ4_COMPRESSED is set, but the data is raw)");
  BOOST_CHECK(tensor_bytes(*r, 0) == f32_bytes({1, 2, 3, 4}));
  f.tensors[0].size = 10;  // sizes that say the data is compressed
  BOOST_CHECK_EQUAL(with_prefix(open_error(f.build())),
                    "tensor 'w': the LZ4_COMPRESSED flag is set and the tensor stores 10 bytes where f32 [2, 2] needs "
                    "16: LZ4-compressed APR tensors have no defined encoding, so the file cannot be read");
  f = worked_example();
  f.flags = 0x0403;
  BOOST_CHECK_EQUAL(with_prefix(open_error(f.build())),
                    "both LZ4_COMPRESSED and ZSTD_COMPRESSED are set; a file can use one compression at most");
}

BOOST_AUTO_TEST_CASE(legacy_magic_is_read) {
  RawFile f = worked_example();
  f.magic = "APR2";
  const auto bytes = f.build();
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "legacy.apr", bytes.data(), bytes.size());
  auto r = open_ok(dir / "legacy.apr");
  BOOST_CHECK_EQUAL(property(*r, "magic"), "APR2 (legacy spelling of APR\\0, read but never written)");
  BOOST_CHECK(tensor_bytes(*r, 0) == f32_bytes({1, 2, 3, 4}));
}

BOOST_AUTO_TEST_CASE(probe_claims_every_generation) {
  const auto probe = [](std::string head) {
    return container().probe(reinterpret_cast<const unsigned char*>(head.data()), head.size());
  };
  BOOST_CHECK_EQUAL(probe(std::string("APR\0", 4)), 100);
  BOOST_CHECK_EQUAL(probe("APR2"), 100);
  BOOST_CHECK_EQUAL(probe("APRN"), 100);
  BOOST_CHECK_EQUAL(probe(R"({"version":1,"shard_count":2,"shards":[]})"), 70);
  BOOST_CHECK_EQUAL(probe(R"({"metadata":{},"weight_map":{}})"), 0);
  BOOST_CHECK_EQUAL(probe("GGUF"), 0);
  BOOST_CHECK_EQUAL(probe("AP"), 0);
  BOOST_CHECK_EQUAL(container().probe(nullptr, 0), 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dtypes)

// Every dtype of §6.1, written and read back with its id.
BOOST_AUTO_TEST_CASE(every_dtype_round_trips) {
  struct Row {
    DType dtype;
    uint8_t id;
    Shape shape;
  };
  const auto storage = [](const char* name, uint32_t bytes, DTypeKind kind) {
    DType d;
    d.name = name;
    d.block_bytes = bytes;
    d.kind = kind;
    return d;
  };
  const DTypeKind F = DTypeKind::floating, I = DTypeKind::integer;
  std::vector<Row> rows;
  rows.push_back({dtype_named("f32"), 0, {2, 3}});
  rows.push_back({dtype_named("f16"), 1, {2, 3}});
  rows.push_back({storage("f64", 8, F), 3, {3}});
  rows.push_back({storage("i32", 4, I), 4, {3}});
  rows.push_back({storage("i64", 8, I), 5, {3}});
  rows.push_back({storage("i8", 1, I), 6, {3}});
  rows.push_back({storage("u8", 1, I), 7, {3}});
  rows.push_back({dtype_named("q4_k"), 12, {2, 256}});
  rows.push_back({dtype_named("q6_k"), 14, {1, 256}});
  rows.push_back({dtype_named("bf16"), 30, {3}});
  rows.push_back({dtype_named("apr_q4"), 128, {3, 5}});
  rows.push_back({dtype_named("apr_q8"), 129, {3, 5}});
  std::vector<TensorInfo> tensors;
  std::vector<std::vector<uint8_t>> data;
  for (size_t i = 0; i < rows.size(); ++i) {
    tensors.push_back(tensor("t" + std::to_string(10 + i), rows[i].dtype, rows[i].shape));
    std::vector<uint8_t> bytes(tensors.back().n_bytes);
    for (size_t k = 0; k < bytes.size(); ++k) bytes[k] = static_cast<uint8_t>(i * 31 + k);
    data.push_back(std::move(bytes));
  }
  BOOST_CHECK_EQUAL(tensors[10].n_bytes, 18u);  // apr_q4: one block of 32 over the 15 elements
  BOOST_CHECK_EQUAL(tensors[11].n_bytes, 19u);  // apr_q8: scale + 15 codes
  const auto file = write_ok({}, tensors, data);
  BOOST_CHECK_EQUAL(get<uint16_t>(file, 6), 0x0420);  // QUANTIZED | LAYOUT_ROW_MAJOR
  const uint64_t index = get<uint64_t>(file, 24);
  size_t at = index;
  for (size_t i = 0; i < rows.size(); ++i) {  // names t10..t21 sort as given
    const auto name_len = get<uint16_t>(file, at);
    BOOST_CHECK_EQUAL(static_cast<int>(file[at + 2 + name_len]), static_cast<int>(rows[i].id));
    at += 2 + name_len + 2 + 8 * file[at + 2 + name_len + 1] + 16;
  }
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "all.apr", file.data(), file.size());
  auto r = open_ok(dir / "all.apr");
  BOOST_REQUIRE_EQUAL(r->tensors().size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    BOOST_TEST_CONTEXT(rows[i].dtype.name) {
      BOOST_CHECK(r->tensors()[i].dtype == rows[i].dtype);
      BOOST_CHECK(r->tensors()[i].dtype.kind == rows[i].dtype.kind);
      BOOST_CHECK(r->tensors()[i].shape == rows[i].shape);
      BOOST_CHECK(tensor_bytes(*r, i) == data[i]);
    }
  }
}

// Files written before aprender issue 438 used 8 and 9 for the native q4 and q8.
BOOST_AUTO_TEST_CASE(legacy_ids_read_as_native_q4_and_q8) {
  RawFile f;
  f.tensors.push_back(raw_tensor("a", 8, {3, 5}, std::vector<uint8_t>(18, 1)));
  f.tensors.push_back(raw_tensor("b", 9, {3, 5}, std::vector<uint8_t>(19, 2)));
  const auto bytes = f.build();
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "legacy.apr", bytes.data(), bytes.size());
  auto r = open_ok(dir / "legacy.apr");
  BOOST_CHECK_EQUAL(r->tensors()[0].dtype.name, "apr_q4");
  BOOST_CHECK_EQUAL(r->tensors()[1].dtype.name, "apr_q8");
  // Written back under the current ids.
  const auto again = write_ok({}, r->tensors(), {tensor_bytes(*r, 0), tensor_bytes(*r, 1)});
  const uint64_t index = get<uint64_t>(again, 24);
  BOOST_CHECK_EQUAL(static_cast<int>(again[index + 3]), 128);
  // An empty apr_q8 tensor has no bytes at all.
  RawFile empty;
  empty.tensors.push_back(raw_tensor("e", 129, {0, 4}, {}));
  BOOST_CHECK_EQUAL(open_error(empty.build()), "(opened)");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(writer)

BOOST_AUTO_TEST_CASE(refusals_name_tensor_and_reason) {
  const DType f32 = dtype_named("f32");
  const auto refused = [](const std::vector<TensorInfo>& tensors, const Metadata& m = {}) {
    MemorySink sink;
    std::vector<std::vector<uint8_t>> data;
    for (const auto& t : tensors) data.emplace_back(t.n_bytes);
    const Status s = write_model(sink, m, tensors, data);
    BOOST_CHECK(sink.data.empty());  // nothing written before the refusal
    return s.to_string();
  };
  BOOST_CHECK_EQUAL(
      refused({tensor(std::string(257, 'n'), f32, {1})}),
      "memory.apr: tensor '" + std::string(257, 'n') + "': name is 257 bytes long; APR allows at most 256");
  BOOST_CHECK_EQUAL(
      refused({tensor("deep", f32, {1, 1, 1, 1, 1, 1, 1, 1, 2})}),
      "memory.apr: tensor 'deep': shape [1, 1, 1, 1, 1, 1, 1, 1, 2] has 9 dimensions; APR allows at most 8");
  BOOST_CHECK_EQUAL(refused({tensor("a", f32, {1}), tensor("a", f32, {1})}),
                    "memory.apr: tensor 'a': duplicate tensor name");
  BOOST_CHECK_EQUAL(
      refused({tensor("q", dtype_named("q8_0"), {32})}),
      "memory.apr: tensor 'q': APR cannot store q8_0 tensors (its encodings: f32, f16, f64, i32, i64, i8, "
      "u8, q4_k, q6_k, bf16, apr_q4, apr_q8); choose one of them with --type or a recipe rule");
  BOOST_CHECK(refused({tensor("s", DType{"u16", 1, 2, DTypeKind::integer}, {2})})
                  .starts_with("memory.apr: tensor 's': APR cannot store u16 tensors"));
  // A name of exactly 256 bytes is fine.
  MemorySink sink;
  BOOST_CHECK(write_model(sink, {}, {tensor(std::string(256, 'n'), f32, {1})}, {std::vector<uint8_t>(4)}).ok());
}

BOOST_AUTO_TEST_CASE(options_are_checked) {
  MemorySink sink;
  for (const char* bad : {"lz4", "zstd:0", "zstd:23", "zstd:x", "zstd:"}) {
    auto w = container().create_writer(sink, qf_test::plugins(), {{"compress_tensors", bad}});
    BOOST_REQUIRE(!w.ok());
    BOOST_CHECK_EQUAL(
        w.status().message(),
        "compress_tensors must be none, zstd or zstd:LEVEL with LEVEL 1 to 22, not '" + std::string(bad) + "'");
  }
  BOOST_REQUIRE_EQUAL(container().n_writer_options, 1u);
  BOOST_CHECK_EQUAL(container().writer_options[0].key, std::string("compress_tensors"));
  BOOST_CHECK_EQUAL(container().writer_options[0].default_value, std::string("none"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(compression)

BOOST_AUTO_TEST_CASE(zstd_round_trip_and_sizes) {
  const DType f32 = dtype_named("f32");
  std::vector<uint8_t> zeros(4096 * 4, 0), ramp(1000 * 4);
  for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<uint8_t>(i % 7);
  const std::vector<TensorInfo> tensors = {tensor("z", f32, {4096}), tensor("r", f32, {1000}), tensor("e", f32, {0})};
  for (const char* level : {"zstd", "zstd:1", "zstd:19"}) {
    BOOST_TEST_CONTEXT(level) {
      const auto file = write_ok({}, tensors, {zeros, ramp, {}}, {{"compress_tensors", level}});
      BOOST_CHECK_EQUAL(get<uint16_t>(file, 6), 0x0402);  // ZSTD_COMPRESSED | LAYOUT_ROW_MAJOR
      BOOST_CHECK_LT(file.size(), 2000u);
      qf_test::TempDir dir;
      qf_test::write_bytes(dir / "z.apr", file.data(), file.size());
      auto r = open_ok(dir / "z.apr");
      BOOST_CHECK_EQUAL(property(*r, "tensor_compression"), "zstd (one frame per tensor)");
      BOOST_REQUIRE_EQUAL(r->tensors().size(), 3u);
      BOOST_CHECK_EQUAL(r->tensors()[0].name, "z");
      BOOST_CHECK_EQUAL(r->tensors()[0].n_bytes, zeros.size());
      BOOST_CHECK(tensor_bytes(*r, 0) == zeros);
      BOOST_CHECK(tensor_bytes(*r, 1) == ramp);
      BOOST_CHECK(tensor_bytes(*r, 2).empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(corrupt_frames_name_the_tensor) {
  const DType f32 = dtype_named("f32");
  std::vector<uint8_t> ramp(1000 * 4);
  for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<uint8_t>(i % 251);
  const auto good = write_ok({}, {tensor("w", f32, {1000})}, {ramp}, {{"compress_tensors", "zstd"}});
  const uint64_t index = get<uint64_t>(good, 24), data = get<uint64_t>(good, 32);
  const uint64_t size = get<uint64_t>(good, index + 2 + 1 + 2 + 8 + 8);
  const auto read_error = [&](std::vector<uint8_t> f) {
    fix_checksums(f);
    qf_test::TempDir dir;
    qf_test::write_bytes(dir / "bad.apr", f.data(), f.size());
    auto r = open(dir / "bad.apr");
    if (!r.ok()) return "open: " + r.status().to_string();
    auto d = (*r)->read(0);
    return d.ok() ? std::string("(read)") : with_prefix(d.status().to_string());
  };
  auto f = good;
  f[data + size / 2] ^= 0x55;
  BOOST_CHECK(read_error(f).starts_with("tensor 'w': corrupt zstd frame: "));
  f = good;
  f[data] = 0;  // the magic
  BOOST_CHECK_EQUAL(read_error(f), "tensor 'w': corrupt zstd frame: not a zstd frame");
  f = good;
  put<uint64_t>(f, index + 2 + 1 + 2 + 8 + 8, size - 8);  // the frame cut short
  BOOST_CHECK(read_error(f).starts_with("tensor 'w': "));
  // A frame of other content: the header still says f32 [1000].
  const auto small =
      write_ok({}, {tensor("w", f32, {10})}, {std::vector<uint8_t>(40, 7)}, {{"compress_tensors", "zstd"}});
  f = small;
  put<uint64_t>(f, index + 2 + 1 + 1 + 1, uint64_t{11});  // shape [11]: 44 bytes expected
  BOOST_CHECK_EQUAL(read_error(f), "tensor 'w': the zstd frame holds 40 bytes, dtype and shape need 44");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(other_generations)

BOOST_AUTO_TEST_CASE(apr_v1_is_refused_with_its_header,
                     *boost::unit_test::precondition(qf_test::shared_data_available())) {
  const fs::path mnist = qf_test::shared_testdata() / "models" / "mnist_784x2.apr";
  auto r = open(mnist);
  BOOST_REQUIRE(!r.ok());
  BOOST_CHECK_EQUAL(r.status().to_string(),
                    mnist.string() +
                        ": APR v1 (APRN) holds a serialized aprender model, not a tensor container; re-export it as "
                        "APR v2 with aprender (version 1.0, model type LogisticRegression (0x0002), metadata 47 bytes, "
                        "payload 3165 bytes (3165 uncompressed), compression none, trailer CRC 0xF38814FE ok)");
  BOOST_CHECK(r.status().code() == ErrorCode::bad_input);
  // The same file with a damaged payload says so.
  auto bytes = qf_test::read_bytes(mnist);
  bytes[100] ^= 1;
  BOOST_CHECK(open_error(bytes).find("trailer CRC mismatch: stored 0xF38814FE, computed 0x") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(aprender_tsp_is_refused, *boost::unit_test::precondition(qf_test::shared_data_available())) {
  const fs::path tsp = qf_test::shared_testdata() / "models" / "aprender-tsp-att48-aco.apr";
  auto r = open(tsp);
  BOOST_REQUIRE(!r.ok());
  BOOST_CHECK_EQUAL(r.status().to_string(), tsp.string() +
                                                ": APR file of version 1 with model type TSP: an aprender-tsp solver "
                                                "file, not a tensor container");
}

BOOST_AUTO_TEST_CASE(synthetic_v1_headers) {
  std::vector<uint8_t> f(32 + 4 + 4, 0);
  std::memcpy(f.data(), "APRN", 4);
  f[4] = 1;
  put<uint16_t>(f, 6, 0x00FF);
  put<uint32_t>(f, 8, 2);
  put<uint32_t>(f, 12, 2);
  put<uint32_t>(f, 16, 9);
  f[20] = 2;
  put<uint32_t>(f, f.size() - 4, crc32(f.data(), f.size() - 4));
  BOOST_CHECK_EQUAL(
      with_prefix(open_error(f)),
      "APR v1 (APRN) holds a serialized aprender model, not a tensor container; re-export it as APR v2 "
      "with aprender (version 1.0, model type Custom (0x00FF), metadata 2 bytes, payload 2 bytes (9 "
      "uncompressed), compression zstd level 19, trailer CRC 0x" +
          [&] {
            std::ostringstream s;
            s << std::uppercase << std::hex << get<uint32_t>(f, f.size() - 4);
            return s.str();
          }() +
          " ok)");
  BOOST_CHECK_EQUAL(with_prefix(open_error({'A', 'P', 'R', 'N', 1, 0})),
                    "APR v1 (APRN) holds a serialized aprender model, not a tensor container; re-export it as APR v2 "
                    "with aprender (the file has only 6 bytes, truncated)");
  std::vector<uint8_t> other = {'A', 'P', 'R', 0, 1, 0, 0, 0, 0, 'B', 'A', 'X'};
  BOOST_CHECK_EQUAL(with_prefix(open_error(other)),
                    "APR file of version 1 with model type XAB: not an APR v2 tensor container");
}

BOOST_AUTO_TEST_SUITE_END()
