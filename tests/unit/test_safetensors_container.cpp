// The safetensors container plugin, tested through its descriptor as the host uses it:
// the reference writer's exact bytes, every header validation rule with its message, the
// quantflow conventions (typed metadata, quantized tensors), real files, sharded indexes.
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/atomic_output.hpp"
#include "support/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace quantflow;

const ContainerDescriptor& container() {
  const ContainerDescriptor* c = qf_test::plugins().find_container("safetensors");
  BOOST_REQUIRE_MESSAGE(c != nullptr, "the safetensors container plugin is not loaded");
  return *c;
}

Result<std::unique_ptr<Reader>> open(const fs::path& path) {
  return container().open_reader(path.string(), qf_test::plugins());
}

std::unique_ptr<Reader> open_ok(const fs::path& path) {
  auto r = open(path);
  BOOST_REQUIRE_MESSAGE(r.ok(), "cannot open " << path << ": " << r.status().to_string());
  return std::move(r).value();
}

class MemorySink final : public OutputSink {
 public:
  Status write(std::span<const std::byte> bytes) override {
    data.insert(data.end(), reinterpret_cast<const uint8_t*>(bytes.data()),
                reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size());
    return {};
  }
  uint64_t position() const override { return data.size(); }
  const std::string& target_path() const override { return target; }
  std::vector<uint8_t> data;
  std::string target = "memory.safetensors";
};

std::span<const std::byte> as_span(const std::vector<uint8_t>& v) { return std::as_bytes(std::span(v)); }

// Runs the whole writer protocol; data[i] belongs to tensors[i].
Status write_model(OutputSink& sink, const Metadata& metadata, const std::vector<TensorInfo>& tensors,
                   const std::vector<std::vector<uint8_t>>& data, std::vector<size_t>* order_out = nullptr) {
  auto writer = container().create_writer(sink, qf_test::plugins(), {});
  if (!writer.ok()) return writer.status();
  auto order = (*writer)->begin(metadata, tensors);
  if (!order.ok()) return order.status();
  for (size_t i : *order) QF_RETURN_IF_ERROR((*writer)->write_tensor(i, as_span(data[i])));
  if (order_out) *order_out = *order;
  return (*writer)->finish();
}

std::vector<uint8_t> write_ok(const Metadata& metadata, const std::vector<TensorInfo>& tensors,
                              const std::vector<std::vector<uint8_t>>& data) {
  MemorySink sink;
  const Status s = write_model(sink, metadata, tensors, data);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
  return sink.data;
}

TensorInfo tensor(std::string name, DType dtype, Shape shape) {
  TensorInfo t;
  t.name = std::move(name);
  t.dtype = std::move(dtype);
  t.shape = std::move(shape);
  t.n_bytes = element_count(t.shape) / t.dtype.block_elems * t.dtype.block_bytes;
  return t;
}

DType plain(const char* name, uint32_t bytes, DTypeKind kind = DTypeKind::floating) { return {name, 1, bytes, kind}; }

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

// A file from header text (unpadded, N = its length) and `data_len` data bytes.
std::vector<uint8_t> st_file(const std::string& header, size_t data_len) {
  // Assembled in a string: GCC 12 reports a false -Warray-bounds on vector range inserts.
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(static_cast<uint64_t>(header.size()) >> (8 * i));
  bytes += header;
  for (uint8_t b : pattern(data_len, 1)) bytes += static_cast<char>(b);
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

std::string header_of(const std::vector<uint8_t>& file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[i];
  return std::string(file.begin() + 8, file.begin() + 8 + static_cast<long>(n));
}

std::vector<uint8_t> tensor_bytes(const Reader& r, size_t i) {
  auto d = r.read(i);
  BOOST_REQUIRE_MESSAGE(d.ok(), d.status().to_string());
  const auto* p = reinterpret_cast<const uint8_t*>(d->bytes.data());
  return std::vector<uint8_t>(p, p + d->bytes.size());
}

std::vector<std::string> names_of(const Reader& r) {
  std::vector<std::string> names;
  for (const auto& t : r.tensors()) names.push_back(t.name);
  return names;
}

// Bit-exact comparison (MetaValue's operator== treats 0.0 and -0.0 as equal).
void check_same_bits(const MetaValue& a, const MetaValue& b, const std::string& key) {
  BOOST_TEST_CONTEXT("key " << key) {
    BOOST_REQUIRE(a.type == b.type);
    if (a.type == MetaType::f64 || a.type == MetaType::f32) {
      if (std::isnan(a.real)) {
        BOOST_CHECK(std::isnan(b.real));
      } else {
        uint64_t x, y;
        std::memcpy(&x, &a.real, 8);
        std::memcpy(&y, &b.real, 8);
        BOOST_CHECK_EQUAL(x, y);
      }
    } else if (a.type == MetaType::array) {
      BOOST_REQUIRE(a.element_type == b.element_type);
      BOOST_REQUIRE_EQUAL(a.elements.size(), b.elements.size());
      for (size_t i = 0; i < a.elements.size(); ++i) check_same_bits(a.elements[i], b.elements[i], key);
    } else {
      BOOST_CHECK(a == b);
    }
  }
}

void check_same_metadata(const Metadata& got, const Metadata& want) {
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    BOOST_CHECK_EQUAL(got.entries()[i].key, want.entries()[i].key);
    check_same_bits(got.entries()[i].value, want.entries()[i].value, want.entries()[i].key);
  }
  BOOST_CHECK(got == want);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(writer)

// Spec §7, byte for byte.
BOOST_AUTO_TEST_CASE(worked_example_bytes) {
  Metadata meta;
  meta.set("format", MetaValue::make_string("pt"));
  const float values[2] = {1.0f, -2.0f};
  std::vector<uint8_t> data(8);
  std::memcpy(data.data(), values, 8);
  const auto file = write_ok(meta, {tensor("a", plain("f32", 4), {2})}, {data});
  const std::vector<uint8_t> want = {
      0x58, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7b, 0x22, 0x5f, 0x5f, 0x6d, 0x65, 0x74, 0x61,  //
      0x64, 0x61, 0x74, 0x61, 0x5f, 0x5f, 0x22, 0x3a, 0x7b, 0x22, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74,  //
      0x22, 0x3a, 0x22, 0x70, 0x74, 0x22, 0x7d, 0x2c, 0x22, 0x61, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74,  //
      0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70,  //
      0x65, 0x22, 0x3a, 0x5b, 0x32, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66,  //
      0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x30, 0x2c, 0x38, 0x5d, 0x7d, 0x7d, 0x20, 0x20, 0x20,  //
      0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0};
  BOOST_CHECK_EQUAL_COLLECTIONS(file.begin(), file.end(), want.begin(), want.end());

  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "a.safetensors", file.data(), file.size());
  auto r = open_ok(dir / "a.safetensors");
  BOOST_CHECK_EQUAL(r->container(), "safetensors");
  BOOST_REQUIRE_EQUAL(r->tensors().size(), 1u);
  BOOST_CHECK_EQUAL(r->tensors()[0].dtype.name, "f32");
  BOOST_CHECK(r->tensors()[0].shape == Shape{2});
  BOOST_CHECK(tensor_bytes(*r, 0) == data);
  BOOST_CHECK(r->metadata() == meta);
}

// Descending reference enum order, then name; begin() hands that order to the host.
BOOST_AUTO_TEST_CASE(layout_order_and_every_dtype) {
  struct Row {
    const char* id;
    const char* name;
    uint32_t elems, bytes;
    DTypeKind kind;
  };
  const DTypeKind F = DTypeKind::floating, I = DTypeKind::integer;
  const std::vector<Row> rows = {
      {"BOOL", "bool", 1, 1, I},
      {"U8", "u8", 1, 1, I},
      {"I8", "i8", 1, 1, I},
      {"I16", "i16", 1, 2, I},
      {"U16", "u16", 1, 2, I},
      {"F16", "f16", 1, 2, F},
      {"BF16", "bf16", 1, 2, F},
      {"I32", "i32", 1, 4, I},
      {"U32", "u32", 1, 4, I},
      {"F32", "f32", 1, 4, F},
      {"F64", "f64", 1, 8, F},
      {"I64", "i64", 1, 8, I},
      {"U64", "u64", 1, 8, I},
      {"F8_E4M3", "f8_e4m3", 1, 1, F},
      {"F8_E5M2", "f8_e5m2", 1, 1, F},
      {"F8_E8M0", "f8_e8m0", 1, 1, F},
      {"F4", "f4", 2, 1, F},
      {"F6_E2M3", "f6_e2m3", 4, 3, F},
      {"F6_E3M2", "f6_e3m2", 4, 3, F},
      {"F8_E4M3FNUZ", "f8_e4m3fnuz", 1, 1, F},
      {"F8_E5M2FNUZ", "f8_e5m2fnuz", 1, 1, F},
      {"C64", "c64", 1, 8, F},
  };
  std::vector<TensorInfo> tensors;
  std::vector<std::vector<uint8_t>> data;
  for (const auto& row : rows) {
    // Two per dtype, declared out of name order, to see the name tie-break.
    for (const char* suffix : {"_b", "_a"}) {
      tensors.push_back(
          tensor(std::string(row.name) + suffix, DType{row.name, row.elems, row.bytes, row.kind}, {2, 4}));
      data.push_back(pattern(tensors.back().n_bytes, static_cast<uint8_t>(data.size())));
    }
  }
  MemorySink sink;
  std::vector<size_t> order;
  const Status s = write_model(sink, {}, tensors, data, &order);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
  std::vector<std::string> got;
  for (size_t i : order) got.push_back(tensors[i].name);
  std::vector<std::string> want;
  for (const char* n : {"u64", "i64", "f64",     "c64",         "f32",         "u32",     "i32",     "bf16",
                        "f16", "u16", "i16",     "f8_e5m2fnuz", "f8_e4m3fnuz", "f8_e8m0", "f8_e4m3", "f8_e5m2",
                        "i8",  "u8",  "f6_e3m2", "f6_e2m3",     "f4",          "bool"}) {
    want.push_back(std::string(n) + "_a");
    want.push_back(std::string(n) + "_b");
  }
  BOOST_CHECK_EQUAL_COLLECTIONS(got.begin(), got.end(), want.begin(), want.end());
  // The declared order differs from the layout, so it is recorded for readers; the data
  // section starts with the first tensor of the layout.
  std::vector<std::string> declared;
  for (const auto& t : tensors) declared.push_back(t.name);
  const std::string header = header_of(sink.data);
  BOOST_CHECK(header.rfind("{\"__metadata__\":{\"quantflow.tensor_order\":" +
                               nlohmann::json(nlohmann::json(declared).dump()).dump() + "},",
                           0) == 0);
  BOOST_CHECK_NE(header.find("},\"u64_a\":{\"dtype\":\"U64\",\"shape\":[2,4],\"data_offsets\":[0,64]}"),
                 std::string::npos);
  BOOST_CHECK_EQUAL(header.size() % 8, 0u);

  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "all.safetensors", sink.data.data(), sink.data.size());
  auto r = open_ok(dir / "all.safetensors");
  BOOST_REQUIRE_EQUAL(r->tensors().size(), tensors.size());
  // The reader lists tensors in the recorded (declared) order, whatever the layout.
  for (size_t k = 0; k < tensors.size(); ++k) {
    const TensorInfo& t = r->tensors()[k];
    const TensorInfo& w = tensors[k];
    BOOST_TEST_CONTEXT(w.name) {
      BOOST_CHECK_EQUAL(t.name, w.name);
      BOOST_CHECK(t.dtype == w.dtype);
      BOOST_CHECK(t.dtype.kind == w.dtype.kind);
      BOOST_CHECK(t.shape == w.shape);
      BOOST_CHECK(tensor_bytes(*r, k) == data[k]);
    }
  }
  BOOST_CHECK(r->metadata().empty());
}

// serde_json escaping: quote, backslash, short control escapes, \u00xx, raw '/' and UTF-8.
BOOST_AUTO_TEST_CASE(string_escaping) {
  Metadata meta;
  meta.set("k", MetaValue::make_string("a\"b\\c/d\n\t\x01\x1f\x7f é"));
  const std::string name = "w/\"x\"\b\f\r é";
  const auto file = write_ok(meta, {tensor(name, plain("u8", 1, DTypeKind::integer), {1})}, {{7}});
  const std::string h = header_of(file);
  BOOST_CHECK_EQUAL(h.substr(0, h.find_last_not_of(' ') + 1),
                    "{\"__metadata__\":{\"k\":\"a\\\"b\\\\c/d\\n\\t\\u0001\\u001f\x7f é\"},"
                    "\"w/\\\"x\\\"\\b\\f\\r é\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}");
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "e.safetensors", file.data(), file.size());
  auto r = open_ok(dir / "e.safetensors");
  BOOST_CHECK_EQUAL(r->tensors()[0].name, name);
  BOOST_CHECK(r->metadata() == meta);
}

BOOST_AUTO_TEST_CASE(writer_refusals) {
  const auto f32 = plain("f32", 4);
  const auto check = [](const Metadata& m, const std::vector<TensorInfo>& t, const std::string& tensor_name,
                        const std::string& message) {
    std::vector<std::vector<uint8_t>> data;
    for (const auto& x : t) data.push_back(std::vector<uint8_t>(x.n_bytes));
    MemorySink sink;
    const Status s = write_model(sink, m, t, data);
    BOOST_TEST_CONTEXT(message) {
      BOOST_REQUIRE(!s.ok());
      BOOST_CHECK_EQUAL(s.message(), message);
      BOOST_CHECK_EQUAL(s.tensor(), tensor_name);
      BOOST_CHECK_EQUAL(s.file(), "memory.safetensors");
    }
  };
  Metadata reserved;
  reserved.set("quantflow.metadata", MetaValue::make_string("x"));
  check(reserved, {}, "", "metadata key 'quantflow.metadata' is reserved for quantflow's safetensors conventions");
  Metadata reserved2;
  reserved2.set("quantflow.tensor.a", MetaValue::make_string("x"));
  check(reserved2, {}, "", "metadata key 'quantflow.tensor.a' is reserved for quantflow's safetensors conventions");
  Metadata dup;
  dup.append("k", MetaValue::make_string("x"));
  dup.append("k", MetaValue::make_u32(1));
  check(dup, {}, "", "metadata key 'k' appears twice");
  Metadata bad_text;
  bad_text.set("k", MetaValue::make_string("\xff"));
  check(bad_text, {}, "", "the value of metadata key 'k' is not valid UTF-8, which a safetensors header cannot carry");
  check({}, {tensor("a", f32, {2}), tensor("a", f32, {1})}, "a", "two tensors have this name");
  check({}, {tensor("__metadata__", f32, {2})}, "__metadata__", "the name '__metadata__' is reserved by safetensors");
  check({}, {tensor("\xc3", f32, {2})}, "\xc3",
        "the tensor name is not valid UTF-8, which a safetensors header cannot carry");
  auto wrong_size = tensor("w", f32, {2});
  wrong_size.n_bytes = 7;
  check({}, {wrong_size}, "w", "f32 [2] needs 8 bytes, but the tensor declares 7");
  check({}, {tensor("q", DType{"q4_0", 32, 18, DTypeKind::quantized}, {33})}, "q",
        "shape [33] is not a whole number of q4_0 blocks");

  // Host options (target_type, ...) are accepted and change nothing.
  MemorySink sink;
  auto w = container().create_writer(sink, qf_test::plugins(), {{"target_type", "q8_0"}});
  BOOST_REQUIRE(w.ok());

  // Out-of-order data is a host bug and is reported as such.
  auto w2 = container().create_writer(sink, qf_test::plugins(), {});
  BOOST_REQUIRE(w2.ok());
  auto order = (*w2)->begin({}, {tensor("a", f32, {1}), tensor("b", plain("f64", 8), {1})});
  BOOST_REQUIRE(order.ok());
  BOOST_CHECK((*order == std::vector<size_t>{1, 0}));
  const std::vector<uint8_t> four(4);
  const Status s = (*w2)->write_tensor(0, as_span(four));
  BOOST_CHECK(s.code() == ErrorCode::internal);
  BOOST_CHECK_EQUAL(s.message(), "tensor #0 written out of order (expected tensor #1)");
}

// Through the host's atomic sink, as the CLI writes files.
BOOST_AUTO_TEST_CASE(atomic_file_sink) {
  qf_test::TempDir dir;
  const fs::path target = dir / "out.safetensors";
  auto sink = core::AtomicFileSink::create(target.string());
  BOOST_REQUIRE_MESSAGE(sink.ok(), sink.status().to_string());
  const auto data = pattern(12, 3);
  const Status s = write_model(**sink, {}, {tensor("t", plain("f32", 4), {3})}, {data});
  BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
  const Status c = (*sink)->commit();
  BOOST_REQUIRE_MESSAGE(c.ok(), c.to_string());
  auto r = open_ok(target);
  BOOST_CHECK(tensor_bytes(*r, 0) == data);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validation)

struct BadCase {
  std::string what;
  std::vector<uint8_t> file;
  std::string tensor;
  std::string message;
};

void check_bad(const BadCase& c) {
  BOOST_TEST_CONTEXT(c.what) {
    qf_test::TempDir dir;
    const fs::path p = dir / "bad.safetensors";
    qf_test::write_bytes(p, c.file.data(), c.file.size());
    auto r = open(p);
    BOOST_REQUIRE(!r.ok());
    BOOST_CHECK(r.status().code() == ErrorCode::bad_input);
    BOOST_CHECK_EQUAL(r.status().message(), c.message);
    BOOST_CHECK_EQUAL(r.status().tensor(), c.tensor);
    BOOST_CHECK_EQUAL(r.status().file(), p.string());
    BOOST_CHECK(r.status().to_string().find('\n') == std::string::npos);
  }
}

std::string entry(const std::string& dtype, const std::string& shape, uint64_t b, uint64_t e) {
  return "{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(b) + "," +
         std::to_string(e) + "]}";
}

BOOST_AUTO_TEST_CASE(every_rule_with_its_message) {
  const std::string text = "hello world, this is not a model\n";
  const std::vector<BadCase> cases = {
      {"short file", {1, 2, 3, 4, 5}, "", "file is 5 bytes, too short for the 8-byte header length"},
      {"text file", std::vector<uint8_t>(text.begin(), text.end()), "",
       "header length 8031924123371070824 exceeds the file size 33"},
      {"truncated header",
       [] {
         auto f = st_file("{\"a\":" + entry("U8", "[1]", 0, 1) + "}", 1);
         f.resize(20);
         return f;
       }(),
       "", "header length 53 exceeds the file size 20"},
      {"empty header", st_file("", 0), "", "header length is 0, the header must be a JSON object"},
      {"first byte", st_file(" {}", 0), "", "header does not start with '{' (first byte 0x20)"},
      {"utf-8", st_file("{\"a\xff\":1}", 0), "", "header is not valid UTF-8 (at header byte 3)"},
      {"overlong utf-8", st_file("{\"\xc0\xaf\":1}", 0), "", "header is not valid UTF-8 (at header byte 2)"},
      {"json", st_file("{\"a\":", 0), "",
       "header is not valid JSON: parse error at line 1, column 6: syntax error while parsing value - unexpected end "
       "of input; expected '[', '{', or a literal"},
      {"trailing garbage", st_file("{} x", 0), "",
       "header is not valid JSON: parse error at line 1, column 4: syntax error while parsing value - invalid "
       "literal; last read: '{} x'; expected end of input"},
      {"metadata not object", st_file("{\"__metadata__\":[]}", 0), "", "__metadata__ is not an object"},
      {"metadata value", st_file("{\"__metadata__\":{\"n\":1}}", 0), "",
       "__metadata__ value of key 'n' is not a string"},
      {"entry not object", st_file("{\"a\":1}", 0), "a", "the header entry is not an object"},
      {"no dtype", st_file("{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1), "a", "missing field 'dtype'"},
      {"no shape", st_file("{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1), "a", "missing field 'shape'"},
      {"no offsets", st_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1), "a", "missing field 'data_offsets'"},
      {"dtype type", st_file("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,1]}}", 1), "a",
       "field 'dtype' is not a string"},
      {"unknown dtype", st_file("{\"a\":" + entry("F128", "[1]", 0, 16) + "}", 16), "a", "unknown dtype 'F128'"},
      {"dtype case", st_file("{\"a\":" + entry("f32", "[1]", 0, 4) + "}", 4), "a", "unknown dtype 'f32'"},
      {"negative dim", st_file("{\"a\":" + entry("U8", "[-1]", 0, 1) + "}", 1), "a",
       "field 'shape' is not an array of non-negative integers"},
      {"fractional dim", st_file("{\"a\":" + entry("U8", "[1.0]", 0, 1) + "}", 1), "a",
       "field 'shape' is not an array of non-negative integers"},
      {"one offset", st_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1]}}", 1), "a",
       "field 'data_offsets' is not an array of two non-negative integers"},
      {"end before begin", st_file("{\"a\":" + entry("U8", "[0]", 1, 0) + "}", 1), "a",
       "data_offsets [1, 0] end before they begin"},
      {"element overflow", st_file("{\"a\":" + entry("U8", "[4294967296,4294967296,2]", 0, 1) + "}", 1), "a",
       "shape [4294967296, 4294967296, 2] has more elements than fit in 64 bits"},
      {"byte overflow", st_file("{\"a\":" + entry("F32", "[4611686018427387904]", 0, 1) + "}", 1), "a",
       "shape [4611686018427387904] of F32 needs more bytes than fit in 64 bits"},
      {"sub-byte", st_file("{\"a\":" + entry("F4", "[3]", 0, 2) + "}", 2), "a",
       "shape [3] holds 3 F4 elements, which do not fill whole bytes"},
      {"size mismatch", st_file("{\"a\":" + entry("F32", "[2]", 0, 4) + "}", 4), "a",
       "data_offsets [0, 4] hold 4 bytes, but F32 [2] needs 8"},
      {"past end", st_file("{\"a\":" + entry("F32", "[2]", 0, 8) + "}", 4), "a",
       "data_offsets [0, 8] extend past the end of the 4-byte data buffer"},
      {"hole at start", st_file("{\"a\":" + entry("U8", "[2]", 2, 4) + "}", 4), "a",
       "data_offsets [2, 4] leave the first 2 bytes of the data buffer unused"},
      {"gap", st_file("{\"a\":" + entry("U8", "[2]", 0, 2) + ",\"b\":" + entry("U8", "[2]", 4, 6) + "}", 6), "b",
       "data_offsets [4, 6] leave a gap of 2 bytes after tensor 'a' (which ends at 2)"},
      {"overlap", st_file("{\"b\":" + entry("U8", "[4]", 2, 6) + ",\"a\":" + entry("U8", "[4]", 0, 4) + "}", 6), "b",
       "data_offsets [2, 6] overlap tensor 'a' (which ends at 4)"},
      {"empty tensor inside another",
       st_file("{\"a\":" + entry("U8", "[4]", 0, 4) + ",\"z\":" + entry("U8", "[0]", 2, 2) + "}", 4), "z",
       "data_offsets [2, 2] overlap tensor 'a' (which ends at 4)"},
      {"trailing bytes", st_file("{\"a\":" + entry("U8", "[2]", 0, 2) + "}", 5), "a",
       "the last tensor ends at byte 2 of the data buffer, leaving 3 trailing bytes"},
      {"data without tensors", st_file("{}", 4), "", "the header lists no tensors but the data buffer holds 4 bytes"},
      {"duplicate tensor",
       st_file("{\"a\":" + entry("U8", "[2]", 0, 2) + ",\"a\":" + entry("U8", "[2]", 0, 2) + "}", 2), "a",
       "the header names this tensor twice"},
      {"duplicate metadata key", st_file("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0), "",
       "__metadata__ has the key 'k' twice"},
      {"two metadata objects", st_file("{\"__metadata__\":{},\"__metadata__\":{}}", 0), "",
       "the header has two '__metadata__' entries"},
      {"duplicate field",
       st_file("{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1), "a",
       "field 'dtype' appears twice"},
      // quantflow conventions
      {"tensor note without tensor",
       st_file("{\"__metadata__\":{\"quantflow.tensor.x\":\"{}\"},\"a\":" + entry("U8", "[2]", 0, 2) + "}", 2), "x",
       "__metadata__ key 'quantflow.tensor.x' describes a tensor that is not in the file"},
      {"tensor note on F32",
       st_file("{\"__metadata__\":{\"quantflow.tensor.a\":\"{}\"},\"a\":" + entry("F32", "[1]", 0, 4) + "}", 4), "a",
       "stored as f32 [1], but 'quantflow.tensor.a' requires U8 [n_bytes]"},
      {"tensor note size",
       st_file("{\"__metadata__\":{\"quantflow.tensor.a\":"
               "\"{\\\"dtype\\\":\\\"q4_0\\\",\\\"shape\\\":[64],\\\"block_elems\\\":32,\\\"block_bytes\\\":18}\"},"
               "\"a\":" +
                   entry("U8", "[35]", 0, 35) + "}",
               35),
       "a", "__metadata__ entry quantflow.tensor.<name>: q4_0 with shape [64] does not fill the 35 stored bytes"},
      {"tensor note shape",
       st_file("{\"__metadata__\":{\"quantflow.tensor.a\":\"{\\\"dtype\\\":\\\"q\\\"}\"},\"a\":" +
                   entry("U8", "[2]", 0, 2) + "}",
               2),
       "a",
       "__metadata__ entry quantflow.tensor.<name>: expected {\"dtype\": name, \"shape\": [...], \"block_elems\": n, "
       "\"block_bytes\": n}, found {\"dtype\":\"q\"}"},
      {"typed metadata string missing",
       st_file("{\"__metadata__\":{\"quantflow.metadata\":\"[[\\\"k\\\",\\\"string\\\"]]\"}}", 0), "",
       "__metadata__ key 'quantflow.metadata': entry 0: string key 'k' has no plain __metadata__ entry"},
      {"typed metadata range",
       st_file("{\"__metadata__\":{\"quantflow.metadata\":\"[[\\\"k\\\",\\\"u8\\\",256]]\"}}", 0), "",
       "__metadata__ key 'quantflow.metadata': entry 0: key 'k': a u8 value must be in range, found 256"},
      {"typed metadata type",
       st_file("{\"__metadata__\":{\"quantflow.metadata\":\"[[\\\"k\\\",\\\"u128\\\",1]]\"}}", 0), "",
       "__metadata__ key 'quantflow.metadata': entry 0: unknown type 'u128'"},
      {"typed metadata json", st_file("{\"__metadata__\":{\"quantflow.metadata\":\"[\"}}", 0), "",
       "__metadata__ key 'quantflow.metadata': not valid JSON: parse error at line 1, column 2: syntax error while "
       "parsing value - unexpected end of input; expected '[', '{', or a literal"},
  };
  for (const auto& c : cases) check_bad(c);
}

// Hostile nesting must neither overflow the stack nor pass.
BOOST_AUTO_TEST_CASE(deep_nesting) {
  const size_t depth = 200000;
  check_bad({"nested entry", st_file("{\"a\":" + std::string(depth, '[') + std::string(depth, ']') + "}", 0), "a",
             "the header entry is not an object"});
  const std::string typed = "[[\\\"k\\\",\\\"u8\\\"," + std::string(depth, '[') + std::string(depth, ']') + "]]";
  check_bad({"nested typed value", st_file("{\"__metadata__\":{\"quantflow.metadata\":\"" + typed + "\"}}", 0), "",
             "__metadata__ key 'quantflow.metadata': entry 0: key 'k': a u8 value must be an integer, found a deeply "
             "nested array"});
}

// N above the reference's 100 MB limit, in a (sparse) file big enough to hold it.
BOOST_AUTO_TEST_CASE(header_over_the_limit) {
  qf_test::TempDir dir;
  const fs::path p = dir / "huge.safetensors";
  auto head = st_file("{", 0);
  const uint64_t n = 100'000'001;
  for (int i = 0; i < 8; ++i) head[i] = static_cast<uint8_t>(n >> (8 * i));
  qf_test::write_bytes(p, head.data(), head.size());
  fs::resize_file(p, 100'000'016);
  auto r = open(p);
  BOOST_REQUIRE(!r.ok());
  BOOST_CHECK_EQUAL(r.status().message(), "header length 100000001 exceeds the limit of 100000000 bytes");
}

// What the reference accepts and our reader must too: extra fields, no padding, keys out
// of data order (MLX), zero-size tensors and scalars, null __metadata__.
BOOST_AUTO_TEST_CASE(accepted_variations) {
  qf_test::TempDir dir;
  const std::string header = "{\"__metadata__\":null,\"z\":" + entry("U8", "[3]", 2, 5) +
                             ",\"e\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[2,2],\"extra\":{\"x\":[1]}}" +
                             ",\"s\":" + entry("I16", "[]", 0, 2) + "}";
  const auto file = st_file(header, 5);
  qf_test::write_bytes(dir / "v.safetensors", file.data(), file.size());
  auto r = open_ok(dir / "v.safetensors");
  BOOST_CHECK((names_of(*r) == std::vector<std::string>{"s", "e", "z"}));
  BOOST_CHECK(r->tensors()[0].shape.empty());
  BOOST_CHECK_EQUAL(r->tensors()[1].n_bytes, 0u);
  BOOST_CHECK((tensor_bytes(*r, 2) == std::vector<uint8_t>(file.end() - 3, file.end())));
  BOOST_CHECK(r->metadata().empty());
}

BOOST_AUTO_TEST_CASE(probe_scores) {
  const auto file = st_file("{\"a\":" + entry("U8", "[1]", 0, 1) + "}", 1);
  BOOST_CHECK_EQUAL(container().probe(file.data(), file.size()), 60);
  const std::string index = "\n {\"metadata\":{\"total_size\":4},\"weight_map\":{}}";
  BOOST_CHECK_EQUAL(container().probe(reinterpret_cast<const unsigned char*>(index.data()), index.size()), 50);
  const std::string config = "{\"model_type\":\"llama\"}";
  BOOST_CHECK_EQUAL(container().probe(reinterpret_cast<const unsigned char*>(config.data()), config.size()), 0);
  const std::string text = "hello world, this is not a model";
  BOOST_CHECK_EQUAL(container().probe(reinterpret_cast<const unsigned char*>(text.data()), text.size()), 0);
  BOOST_CHECK_EQUAL(container().probe(file.data(), 8), 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(conventions)

BOOST_AUTO_TEST_CASE(typed_metadata_round_trip) {
  Metadata m;
  m.set("general.architecture", MetaValue::make_string("llama"));
  m.set("general.alignment", MetaValue::make_u32(32));
  m.set("u8", MetaValue::make_unsigned(MetaType::u8, 255));
  m.set("i8", MetaValue::make_signed(MetaType::i8, -128));
  m.set("u16", MetaValue::make_unsigned(MetaType::u16, 65535));
  m.set("i16", MetaValue::make_signed(MetaType::i16, -32768));
  m.set("i32", MetaValue::make_i32(std::numeric_limits<int32_t>::min()));
  m.set("u64.max", MetaValue::make_u64(std::numeric_limits<uint64_t>::max()));
  m.set("u64.2^53+1", MetaValue::make_u64((uint64_t{1} << 53) + 1));
  m.set("i64.min", MetaValue::make_signed(MetaType::i64, std::numeric_limits<int64_t>::min()));
  m.set("f32.tenth", MetaValue::make_f32(0.1f));
  m.set("f32.negzero", MetaValue::make_f32(-0.0f));
  m.set("f32.denormal", MetaValue::make_f32(std::numeric_limits<float>::denorm_min()));
  m.set("f32.max", MetaValue::make_f32(std::numeric_limits<float>::max()));
  m.set("f32.nan", MetaValue::make_f32(std::numeric_limits<float>::quiet_NaN()));
  m.set("f32.inf", MetaValue::make_f32(std::numeric_limits<float>::infinity()));
  m.set("f64.-inf", MetaValue::make_f64(-std::numeric_limits<double>::infinity()));
  m.set("f64.tenth", MetaValue::make_f64(0.1));
  m.set("f64.denormal", MetaValue::make_f64(std::numeric_limits<double>::denorm_min()));
  m.set("f64.big", MetaValue::make_f64(1.7976931348623157e308));
  m.set("bool.t", MetaValue::make_bool(true));
  m.set("bool.f", MetaValue::make_bool(false));
  m.set("text", MetaValue::make_string("quote \" backslash \\ newline \n ctl \x01 utf-8 ✓"));
  m.set("empty", MetaValue::make_string(""));
  m.set("tokens", MetaValue::make_array(MetaType::string, {MetaValue::make_string("<s>"), MetaValue::make_string("\n"),
                                                           MetaValue::make_string("")}));
  m.set("scores", MetaValue::make_array(MetaType::f32, {MetaValue::make_f32(-1e10f), MetaValue::make_f32(0.25f),
                                                        MetaValue::make_f32(-std::numeric_limits<float>::infinity())}));
  m.set("none", MetaValue::make_array(MetaType::u8, {}));
  m.set("nested",
        MetaValue::make_array(MetaType::array, {MetaValue::make_array(MetaType::i32, {MetaValue::make_i32(-1)}),
                                                MetaValue::make_array(MetaType::boolean, {})}));
  m.set("a.last.but.unsorted", MetaValue::make_string("order is kept"));

  const auto data = pattern(8, 9);
  const auto file = write_ok(m, {tensor("w", plain("f32", 4), {2})}, {data});
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "m.safetensors", file.data(), file.size());
  auto r = open_ok(dir / "m.safetensors");
  check_same_metadata(r->metadata(), m);

  // Strings stay readable to other tools under their plain keys.
  const auto header = nlohmann::json::parse(header_of(file));
  BOOST_CHECK_EQUAL(header["__metadata__"]["general.architecture"], "llama");
  BOOST_CHECK(!header["__metadata__"].contains("tokens"));
  BOOST_CHECK(!header["__metadata__"].contains("general.alignment"));
}

// The documented encoding, exactly.
BOOST_AUTO_TEST_CASE(typed_metadata_text) {
  Metadata m;
  m.set("b", MetaValue::make_u32(7));
  m.set("a", MetaValue::make_string("x"));
  m.set("c", MetaValue::make_array(MetaType::f32, {MetaValue::make_f32(0.5f),
                                                   MetaValue::make_f32(std::numeric_limits<float>::quiet_NaN())}));
  m.set("d", MetaValue::make_signed(MetaType::i64, -3));
  const auto file = write_ok(m, {}, {});
  const std::string h = header_of(file);
  BOOST_CHECK_EQUAL(h.substr(0, h.find_last_not_of(' ') + 1),
                    R"({"__metadata__":{"a":"x","quantflow.metadata":"[[\"b\",\"u32\",7],[\"a\",\"string\"],)"
                    R"([\"c\",\"array\",{\"elem\":\"f32\",\"items\":[0.5,\"nan\"]}],[\"d\",\"i64\",-3]]"}})");
}

// All-string metadata in byte order is plain safetensors; out of order it gets the list.
BOOST_AUTO_TEST_CASE(string_metadata_stays_plain) {
  Metadata sorted;
  sorted.set("format", MetaValue::make_string("pt"));
  sorted.set("z", MetaValue::make_string("1"));
  BOOST_CHECK(header_of(write_ok(sorted, {}, {})).find("quantflow") == std::string::npos);
  Metadata unsorted;
  unsorted.set("z", MetaValue::make_string("1"));
  unsorted.set("format", MetaValue::make_string("pt"));
  const auto file = write_ok(unsorted, {}, {});
  BOOST_CHECK(header_of(file).find("quantflow.metadata") != std::string::npos);
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "u.safetensors", file.data(), file.size());
  BOOST_CHECK(open_ok(dir / "u.safetensors")->metadata() == unsorted);
}

// Plain keys a typed list does not mention (added by another tool) are kept as strings.
BOOST_AUTO_TEST_CASE(typed_metadata_plus_foreign_keys) {
  qf_test::TempDir dir;
  const auto file =
      st_file(R"({"__metadata__":{"quantflow.metadata":"[[\"n\",\"u8\",3]]","zz":"later","format":"pt"}})", 0);
  qf_test::write_bytes(dir / "f.safetensors", file.data(), file.size());
  const auto r = open_ok(dir / "f.safetensors");
  Metadata want;
  want.set("n", MetaValue::make_unsigned(MetaType::u8, 3));
  want.set("format", MetaValue::make_string("pt"));
  want.set("zz", MetaValue::make_string("later"));
  check_same_metadata(r->metadata(), want);
}

BOOST_AUTO_TEST_CASE(quantized_tensor_round_trip) {
  const DType q4_k{"q4_k", 256, 144, DTypeKind::quantized};
  const DType q4_0{"q4_0", 32, 18, DTypeKind::quantized};
  const DType odd{"i3_custom", 8, 3, DTypeKind::integer};  // plain kind, but no safetensors name
  std::vector<TensorInfo> tensors = {tensor("blk.0.ffn.weight", q4_k, {768, 256}),
                                     tensor("norm", plain("f32", 4), {256}), tensor("blk.0.attn.weight", q4_0, {4, 64}),
                                     tensor("codes", odd, {2, 8})};
  std::vector<std::vector<uint8_t>> data;
  for (size_t i = 0; i < tensors.size(); ++i) data.push_back(pattern(tensors[i].n_bytes, static_cast<uint8_t>(i * 31)));
  Metadata m;
  m.set("general.architecture", MetaValue::make_string("llama"));
  m.set("general.file_type", MetaValue::make_u32(15));
  const auto file = write_ok(m, tensors, data);

  const auto header = nlohmann::json::parse(header_of(file));
  BOOST_CHECK_EQUAL(header["blk.0.ffn.weight"]["dtype"], "U8");
  BOOST_CHECK_EQUAL(header["blk.0.ffn.weight"]["shape"], nlohmann::json::array({110592}));
  BOOST_CHECK_EQUAL(header["__metadata__"]["quantflow.tensor.blk.0.ffn.weight"],
                    R"({"dtype":"q4_k","shape":[768,256],"block_elems":256,"block_bytes":144})");
  BOOST_CHECK(!header["__metadata__"].contains("quantflow.tensor.norm"));

  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "q.safetensors", file.data(), file.size());
  auto r = open_ok(dir / "q.safetensors");
  check_same_metadata(r->metadata(), m);
  BOOST_REQUIRE_EQUAL(r->tensors().size(), tensors.size());
  for (size_t k = 0; k < r->tensors().size(); ++k) {
    const TensorInfo& got = r->tensors()[k];
    size_t i = 0;
    while (tensors[i].name != got.name) ++i;
    BOOST_TEST_CONTEXT(got.name) {
      BOOST_CHECK(got.dtype == tensors[i].dtype);
      BOOST_CHECK(got.dtype.kind == tensors[i].dtype.kind || tensors[i].name == "codes");
      BOOST_CHECK(got.shape == tensors[i].shape);
      BOOST_CHECK_EQUAL(got.n_bytes, tensors[i].n_bytes);
      BOOST_CHECK(tensor_bytes(*r, k) == data[i]);
    }
  }
  // An unknown type without a codec is reported as quantized: nothing else is known of it.
  for (const auto& t : r->tensors())
    if (t.name == "codes") BOOST_CHECK(t.dtype.kind == DTypeKind::quantized);

  // Writing what was read gives the same file again.
  std::vector<std::vector<uint8_t>> again;
  for (size_t k = 0; k < r->tensors().size(); ++k) again.push_back(tensor_bytes(*r, k));
  BOOST_CHECK(write_ok(r->metadata(), r->tensors(), again) == file);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(real_files, *boost::unit_test::precondition(qf_test::shared_data_available()))

fs::path models() { return qf_test::shared_testdata() / "models"; }

const TensorInfo& find(const Reader& r, const std::string& name) {
  for (const auto& t : r.tensors())
    if (t.name == name) return t;
  BOOST_FAIL("no tensor " << name);
  throw 0;
}

// Reads `path`, writes it with our writer, reads that back: same tensors, same bytes.
std::vector<uint8_t> rewrite_and_compare(const fs::path& path) {
  auto r = open_ok(path);
  std::vector<std::vector<uint8_t>> data;
  for (size_t i = 0; i < r->tensors().size(); ++i) data.push_back(tensor_bytes(*r, i));
  const auto file = write_ok(r->metadata(), r->tensors(), data);
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "re.safetensors", file.data(), file.size());
  auto back = open_ok(dir / "re.safetensors");
  BOOST_REQUIRE_EQUAL(back->tensors().size(), r->tensors().size());
  for (size_t i = 0; i < r->tensors().size(); ++i) {
    const TensorInfo& t = r->tensors()[i];
    const TensorInfo& b = find(*back, t.name);
    BOOST_CHECK(b.dtype == t.dtype);
    BOOST_CHECK(b.shape == t.shape);
    size_t j = 0;
    while (back->tensors()[j].name != t.name) ++j;
    BOOST_CHECK_MESSAGE(tensor_bytes(*back, j) == data[i], "bytes of " << t.name << " differ");
  }
  BOOST_CHECK(back->metadata() == r->metadata());
  return file;
}

BOOST_AUTO_TEST_CASE(aprender_linear_model) {
  const fs::path p = models() / "aprender-linear-model.safetensors";
  auto r = open_ok(p);
  BOOST_CHECK((names_of(*r) == std::vector<std::string>{"coefficients", "intercept"}));
  BOOST_CHECK(r->tensors()[0].shape == Shape{2});
  BOOST_CHECK(r->tensors()[1].shape == Shape{1});
  BOOST_CHECK_EQUAL(r->tensors()[0].dtype.name, "f32");
  BOOST_CHECK(r->metadata().empty());
  // Through the host's probe as well.
  auto via_host = qf_test::plugins().open_reader(p.string());
  BOOST_REQUIRE_MESSAGE(via_host.ok(), via_host.status().to_string());
  BOOST_CHECK_EQUAL((*via_host)->container(), "safetensors");
  rewrite_and_compare(p);
}

BOOST_AUTO_TEST_CASE(hf_llama_tiny) {
  const fs::path p = qf_test::shared_testdata() / "hf" / "llama-2-tiny-random" / "model.safetensors";
  auto r = open_ok(p);
  BOOST_CHECK_EQUAL(r->tensors().size(), 12u);
  BOOST_CHECK_EQUAL(r->tensors().front().name, "lm_head.weight");  // file order, not key order
  const auto& lm = find(*r, "lm_head.weight");
  BOOST_CHECK_EQUAL(lm.dtype.name, "f16");
  BOOST_CHECK(lm.shape == (Shape{32000, 8}));
  BOOST_CHECK(find(*r, "model.norm.weight").shape == Shape{8});
  BOOST_CHECK_EQUAL(find(*r, "model.norm.weight").dtype.name, "f32");
  BOOST_REQUIRE(r->metadata().find("format") != nullptr);
  BOOST_CHECK_EQUAL(r->metadata().find("format")->text, "pt");
  rewrite_and_compare(p);
}

BOOST_AUTO_TEST_CASE(lora_tigrinya) {
  const fs::path p = models() / "lora-gpt2-tigrinya" / "adapter_model.safetensors";
  auto r = open_ok(p);
  BOOST_CHECK_EQUAL(r->tensors().size(), 72u);
  for (const auto& t : r->tensors()) BOOST_CHECK_EQUAL(t.dtype.name, "f32");
  BOOST_CHECK(find(*r, "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight").shape == (Shape{8, 768}));
  BOOST_CHECK(find(*r, "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight").shape == (Shape{2304, 8}));
  BOOST_CHECK_EQUAL(r->metadata().find("format")->text, "pt");
  const auto file = rewrite_and_compare(p);
  // Written by the reference writer, so ours reproduces it byte for byte.
  BOOST_CHECK(file == qf_test::read_bytes(p));
}

BOOST_AUTO_TEST_CASE(lora_emotion) {
  const fs::path p = models() / "lora-gpt2-emotion-seqcls" / "adapter_model.safetensors";
  auto r = open_ok(p);
  BOOST_CHECK_EQUAL(r->tensors().size(), 25u);
  BOOST_CHECK(find(*r, "base_model.model.score.weight").shape == (Shape{6, 768}));
  const auto file = rewrite_and_compare(p);
  BOOST_CHECK(file == qf_test::read_bytes(p));
}

BOOST_AUTO_TEST_CASE(lfs_pointer) {
  const fs::path p = models() / "bad-lfs-pointer.safetensors";
  auto via_host = qf_test::plugins().open_reader(p.string());
  BOOST_REQUIRE(!via_host.ok());
  BOOST_CHECK(via_host.status().message().find("git-lfs pointer, not a model") != std::string::npos);
  // The plugin alone refuses it from the header length, without allocating for it.
  auto direct = open(p);
  BOOST_REQUIRE(!direct.ok());
  BOOST_CHECK_EQUAL(direct.status().message(), "header length 2336927755350992246 exceeds the file size 135");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sharded)

struct Shards {
  qf_test::TempDir dir;
  std::vector<std::vector<uint8_t>> data1, data2;
  Shards() {
    Metadata m1;
    m1.set("format", MetaValue::make_string("pt"));
    data1 = {pattern(16, 1), pattern(8, 2)};
    const auto f1 =
        write_ok(m1, {tensor("b.weight", plain("f32", 4), {4}), tensor("a.bias", plain("f16", 2), {4})}, data1);
    Metadata m2;
    m2.set("format", MetaValue::make_string("other"));
    data2 = {pattern(4, 3)};
    const auto f2 = write_ok(m2, {tensor("lm_head.weight", plain("f32", 4), {1})}, data2);
    qf_test::write_bytes(dir / "model-00001-of-00002.safetensors", f1.data(), f1.size());
    qf_test::write_bytes(dir / "model-00002-of-00002.safetensors", f2.data(), f2.size());
  }
  fs::path index(const std::string& text) {
    const fs::path p = dir / "model.safetensors.index.json";
    qf_test::write_text(p, text);
    return p;
  }
};

BOOST_AUTO_TEST_CASE(two_shards_read_as_one) {
  for (const std::string total : {"28", "\"28\""}) {
    Shards s;
    const auto p = s.index(R"({"metadata":{"total_size":)" + total +
                           R"(,"total_parameters":7},"weight_map":{)"
                           R"("lm_head.weight":"model-00002-of-00002.safetensors",)"
                           R"("a.bias":"model-00001-of-00002.safetensors",)"
                           R"("b.weight":"model-00001-of-00002.safetensors"}})");
    auto via_host = qf_test::plugins().open_reader(p.string());
    BOOST_REQUIRE_MESSAGE(via_host.ok(), via_host.status().to_string());
    const Reader& r = **via_host;
    BOOST_CHECK_EQUAL(r.container(), "safetensors");
    // Shards in weight_map order of first mention, each in file order (dtype-sorted by the writer).
    BOOST_CHECK((names_of(r) == std::vector<std::string>{"lm_head.weight", "b.weight", "a.bias"}));
    BOOST_CHECK(tensor_bytes(r, 0) == s.data2[0]);
    BOOST_CHECK(tensor_bytes(r, 1) == s.data1[0]);
    BOOST_CHECK(tensor_bytes(r, 2) == s.data1[1]);
    BOOST_CHECK_EQUAL(r.tensors()[2].dtype.name, "f16");
    BOOST_CHECK_EQUAL(r.metadata().find("format")->text, "other");  // the first shard's
    const auto props = r.properties();
    const auto total_size =
        std::find_if(props.begin(), props.end(), [](const auto& p) { return p.key == "total_size"; });
    BOOST_REQUIRE(total_size != props.end());
    BOOST_CHECK_EQUAL(total_size->value.text, "28");
  }
}

BOOST_AUTO_TEST_CASE(index_mismatches) {
  const auto check = [](const std::string& weight_map, const std::string& message) {
    Shards s;
    const auto p = s.index(R"({"metadata":{"total_size":28},"weight_map":{)" + weight_map + "}}");
    auto r = open(p);
    BOOST_TEST_CONTEXT(message) {
      BOOST_REQUIRE(!r.ok());
      BOOST_CHECK_EQUAL(r.status().message(), message);
      BOOST_CHECK_EQUAL(r.status().file(), p.string());
    }
  };
  const std::string one =
      R"("a.bias":"model-00001-of-00002.safetensors","b.weight":"model-00001-of-00002.safetensors")";
  check(one + R"(,"lm_head.weight":"model-00002-of-00002.safetensors","x":"model-00003-of-00003.safetensors")",
        "weight_map names 1 shard file(s) that do not exist: model-00003-of-00003.safetensors");
  check(one + R"(,"lm_head.weight":"model-00002-of-00002.safetensors","gone":"model-00002-of-00002.safetensors")",
        "weight_map lists 1 tensor(s) missing from their shard: 'gone' (model-00002-of-00002.safetensors)");
  check(R"("a.bias":"model-00001-of-00002.safetensors","lm_head.weight":"model-00002-of-00002.safetensors")",
        "shards hold 1 tensor(s) that weight_map does not map there: 'b.weight' in "
        "model-00001-of-00002.safetensors");
  check(R"("a.bias":"model-00001-of-00002.safetensors","b.weight":"model-00002-of-00002.safetensors",)"
        R"("lm_head.weight":"model-00002-of-00002.safetensors")",
        "weight_map lists 1 tensor(s) missing from their shard: 'b.weight' (model-00002-of-00002.safetensors)");
  check(R"("a":"../model-00001-of-00002.safetensors")",
        "weight_map names '../model-00001-of-00002.safetensors', which is not a file beside the index");

  Shards s;
  auto bad_total = open(s.index(R"({"metadata":{"total_size":-1},"weight_map":{"a":"x"}})"));
  BOOST_REQUIRE(!bad_total.ok());
  BOOST_CHECK_EQUAL(bad_total.status().message(),
                    "index 'metadata.total_size' is neither a non-negative integer nor a string of digits");
}

BOOST_AUTO_TEST_SUITE_END()

// Codec-backed dtypes (F16, BF16, F32, F8_E4M3, F8_E5M2) are declared once, by their codec
// plugins' {"safetensors", id} entries: the container's own table has only their spelling and
// rank, so what the catalog says is what the container reads and writes.
BOOST_AUTO_TEST_SUITE(codec_backed_dtypes)

// The loaded plugins minus the codecs named in `hidden`, plus `extra` (searched first).
class EditedCatalog final : public CodecCatalog {
 public:
  EditedCatalog(std::vector<std::string> hidden, std::vector<const CodecDescriptor*> extra = {})
      : hidden_(std::move(hidden)), extra_(std::move(extra)) {}
  const CodecDescriptor* find(std::string_view name) const override {
    for (const CodecDescriptor* c : extra_)
      if (name == c->name) return c;
    return visible(qf_test::plugins().find(name));
  }
  const CodecDescriptor* find_by_container_id(std::string_view container, std::string_view id) const override {
    for (const CodecDescriptor* c : extra_)
      if (container_id(*c, container) == id) return c;
    return visible(qf_test::plugins().find_by_container_id(container, id));
  }

 private:
  const CodecDescriptor* visible(const CodecDescriptor* c) const {
    if (c == nullptr) return nullptr;
    for (const auto& name : hidden_)
      if (name == c->name) return nullptr;
    return c;
  }
  std::vector<std::string> hidden_;
  std::vector<const CodecDescriptor*> extra_;
};

const QfContainerId kHalfIds[] = {{"safetensors", "F16"}};
const QfContainerId kBrokenIds[] = {{"safetensors", "BF16"}};
const QfContainerId kFloat32Ids[] = {{"safetensors", "I32"}};
const QfContainerId kOffFormatIds[] = {{"safetensors", "Q4K"}};
// An f16 codec under another name: whatever declares {"safetensors", "F16"} is F16.
const CodecDescriptor kHalf = {.name = "half",
                               .description = "test",
                               .block_elems = 1,
                               .block_bytes = 2,
                               .kind = QF_KIND_FLOATING,
                               .container_ids = kHalfIds,
                               .n_container_ids = std::size(kHalfIds)};
const CodecDescriptor kBroken = {.name = "broken",
                                 .description = "test",
                                 .block_elems = 0,
                                 .block_bytes = 2,
                                 .kind = QF_KIND_FLOATING,
                                 .container_ids = kBrokenIds,
                                 .n_container_ids = std::size(kBrokenIds)};
// Claims a storage-only spelling: the format's own geometry for I32 stays.
const CodecDescriptor kClaimsI32 = {.name = "claims_i32",
                                    .description = "test",
                                    .block_elems = 1,
                                    .block_bytes = 4,
                                    .kind = QF_KIND_FLOATING,
                                    .container_ids = kFloat32Ids,
                                    .n_container_ids = std::size(kFloat32Ids)};
// Claims a spelling the format does not have.
const CodecDescriptor kOffFormat = {.name = "q4k",
                                    .description = "test",
                                    .block_elems = 1,
                                    .block_bytes = 1,
                                    .kind = QF_KIND_QUANTIZED,
                                    .container_ids = kOffFormatIds,
                                    .n_container_ids = std::size(kOffFormatIds)};

Result<std::unique_ptr<Reader>> open_with(const fs::path& path, const CodecCatalog& catalog) {
  return container().open_reader(path.string(), catalog);
}

std::vector<uint8_t> write_with(const CodecCatalog& catalog, const std::vector<TensorInfo>& tensors,
                                const std::vector<std::vector<uint8_t>>& data) {
  MemorySink sink;
  auto writer = container().create_writer(sink, catalog, {});
  BOOST_REQUIRE_MESSAGE(writer.ok(), writer.status().to_string());
  auto order = (*writer)->begin({}, tensors);
  BOOST_REQUIRE_MESSAGE(order.ok(), order.status().to_string());
  for (size_t i : *order) BOOST_REQUIRE((*writer)->write_tensor(i, as_span(data[i])).ok());
  BOOST_REQUIRE((*writer)->finish().ok());
  return sink.data;
}

BOOST_AUTO_TEST_CASE(reading_asks_the_catalog) {
  qf_test::TempDir dir;
  const auto file = st_file("{\"a\":" + validation::entry("F16", "[2]", 0, 4) + "}", 4);
  const fs::path p = dir / "f16.safetensors";
  qf_test::write_bytes(p, file.data(), file.size());

  auto with_f16 = open_with(p, qf_test::plugins());
  BOOST_REQUIRE_MESSAGE(with_f16.ok(), with_f16.status().to_string());
  const TensorInfo& t = (*with_f16)->tensors().at(0);
  BOOST_CHECK(t.dtype == plain("f16", 2));
  BOOST_CHECK(t.dtype.kind == DTypeKind::floating);

  auto without = open_with(p, EditedCatalog({"f16"}));
  BOOST_REQUIRE(!without.ok());
  BOOST_CHECK(without.status().code() == ErrorCode::bad_input);
  BOOST_CHECK_EQUAL(without.status().message(), "no loaded codec plugin provides dtype 'F16'");
  BOOST_CHECK_EQUAL(without.status().tensor(), "a");
  BOOST_CHECK_EQUAL(without.status().file(), p.string());

  auto renamed = open_with(p, EditedCatalog({"f16"}, {&kHalf}));
  BOOST_REQUIRE_MESSAGE(renamed.ok(), renamed.status().to_string());
  BOOST_CHECK((*renamed)->tensors().at(0).dtype == plain("half", 2));
  BOOST_CHECK(tensor_bytes(**renamed, 0) == pattern(4, 1));
}

BOOST_AUTO_TEST_CASE(what_the_catalog_cannot_change) {
  qf_test::TempDir dir;
  const EditedCatalog catalog({}, {&kBroken, &kClaimsI32, &kOffFormat});
  const auto refused = [&](const std::string& dtype, const std::string& message) {
    BOOST_TEST_CONTEXT(dtype) {
      const auto file = st_file("{\"a\":" + validation::entry(dtype, "[1]", 0, 1) + "}", 1);
      qf_test::write_bytes(dir / "x.safetensors", file.data(), file.size());
      auto r = open_with(dir / "x.safetensors", catalog);
      BOOST_REQUIRE(!r.ok());
      BOOST_CHECK_EQUAL(r.status().message(), message);
    }
  };
  refused("BF16", "dtype 'BF16' maps to codec 'broken', which has no usable block size");
  refused("Q4K", "unknown dtype 'Q4K'");  // not a spelling of the format, whoever claims it

  const auto file = st_file("{\"a\":" + validation::entry("I32", "[1]", 0, 4) + "}", 4);
  qf_test::write_bytes(dir / "i32.safetensors", file.data(), file.size());
  auto r = open_with(dir / "i32.safetensors", catalog);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  BOOST_CHECK((*r)->tensors().at(0).dtype == plain("i32", 4, DTypeKind::integer));
  BOOST_CHECK((*r)->tensors().at(0).dtype.kind == DTypeKind::integer);
}

// Headers are padded with spaces to a multiple of 8 bytes.
std::string padded(std::string header) { return header.append((8 - header.size() % 8) % 8, ' '); }

BOOST_AUTO_TEST_CASE(writing_asks_the_catalog) {
  const std::vector<TensorInfo> tensors = {tensor("a", plain("f16", 2), {2})};
  const std::vector<std::vector<uint8_t>> data = {pattern(4, 9)};
  BOOST_CHECK_EQUAL(header_of(write_with(qf_test::plugins(), tensors, data)),
                    padded("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}"));

  // Without the codec the encoding has no safetensors spelling: stored as bytes, and read
  // back as f16 by a host that has the codec.
  const auto bytes = write_with(EditedCatalog({"f16"}), tensors, data);
  BOOST_CHECK_EQUAL(
      header_of(bytes),
      padded("{\"__metadata__\":{\"quantflow.tensor.a\":"
             "\"{\\\"dtype\\\":\\\"f16\\\",\\\"shape\\\":[2],\\\"block_elems\\\":1,\\\"block_bytes\\\":2}\"},"
             "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}"));
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / "bytes.safetensors", bytes.data(), bytes.size());
  auto r = open_ok(dir / "bytes.safetensors");
  BOOST_CHECK(r->tensors().at(0).dtype == plain("f16", 2));
  BOOST_CHECK(r->tensors().at(0).shape == Shape{2});
  BOOST_CHECK(tensor_bytes(*r, 0) == data[0]);

  // The spelling comes from the codec, whatever its name.
  const auto renamed = write_with(EditedCatalog({"f16"}, {&kHalf}), {tensor("a", plain("half", 2), {2})}, data);
  BOOST_CHECK_EQUAL(header_of(renamed), padded("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}"));
  // When another codec answers to F16, writing f16 as F16 would read back as that codec.
  const auto ambiguous = write_with(EditedCatalog({}, {&kHalf}), tensors, data);
  BOOST_CHECK(header_of(ambiguous).starts_with("{\"__metadata__\":{\"quantflow.tensor.a\":"));
}

BOOST_AUTO_TEST_SUITE_END()
