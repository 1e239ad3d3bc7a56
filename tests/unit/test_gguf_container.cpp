// The GGUF container plugin: metadata and tensor round trips, every refusal path with its
// exact message, and byte-identical copies of the shared reference files.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "core/atomic_output.hpp"
#include "support/test_support.hpp"

namespace {

using namespace quantflow;
namespace fs = std::filesystem;

// Collects a writer's output in memory.
class MemorySink final : public OutputSink {
 public:
  Status write(std::span<const std::byte> bytes) override {
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
    return {};
  }
  uint64_t position() const override { return bytes_.size(); }
  const std::string& target_path() const override { return path_; }
  std::vector<uint8_t> data() const {
    std::vector<uint8_t> out(bytes_.size());
    std::memcpy(out.data(), bytes_.data(), bytes_.size());
    return out;
  }

 private:
  std::vector<std::byte> bytes_;
  std::string path_ = "memory.gguf";
};

// A catalog that knows one plugin-defined encoding, standing in for an FP8 block codec.
class FakeCatalog final : public CodecCatalog {
 public:
  FakeCatalog() {
    static const QfContainerId ids[] = {{"gguf", "99"}};
    codec_ = QfCodecDescriptor{
        .name = "fp8_blk",
        .description = "test codec",
        .block_elems = 32,
        .block_bytes = 33,
        .kind = QF_KIND_QUANTIZED,
        .container_ids = ids,
        .n_container_ids = 1,
    };
  }
  const CodecDescriptor* find(std::string_view name) const override { return name == "fp8_blk" ? &codec_ : nullptr; }
  const CodecDescriptor* find_by_container_id(std::string_view container, std::string_view id) const override {
    return container == "gguf" && id == "99" ? &codec_ : nullptr;
  }

 private:
  QfCodecDescriptor codec_{};
};

const ContainerDescriptor& gguf() {
  const ContainerDescriptor* c = qf_test::plugins().find_container("gguf");
  BOOST_REQUIRE_MESSAGE(c != nullptr, "the gguf container plugin is not loaded");
  return *c;
}

// Hand-assembled GGUF bytes, for files the writer would never produce.
class Builder {
 public:
  template <typename T>
  Builder& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
    return *this;
  }
  Builder& str(std::string_view s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  Builder& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    bytes.insert(bytes.end(), {'G', 'G', 'U', 'F'});
    return put(version).put(n_tensors).put(n_kv);
  }
  Builder& kv_u32(std::string_view key, uint32_t v) { return str(key).put<uint32_t>(4).put(v); }
  Builder& tensor(std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) put(d);
    return put(type).put(offset);
  }
  Builder& pad(size_t alignment = 32) {
    while (bytes.size() % alignment) bytes.push_back(0);
    return *this;
  }
  Builder& fill(size_t n, uint8_t v) {
    bytes.insert(bytes.end(), n, v);
    return *this;
  }
  std::vector<uint8_t> bytes;
};

struct Fixture {
  qf_test::TempDir tmp;
  int counter = 0;
  // Each call gets a fresh file unless `reuse` asks to overwrite the previous one.
  fs::path write(const std::vector<uint8_t>& bytes, bool reuse = false) {
    if (!reuse) ++counter;
    const fs::path p = tmp / ("f" + std::to_string(counter) + ".gguf");
    qf_test::write_bytes(p, bytes.data(), bytes.size());
    return p;
  }
  Result<std::unique_ptr<Reader>> open(const std::vector<uint8_t>& bytes, bool reuse = false) {
    return qf_test::plugins().open_reader(write(bytes, reuse).string());
  }
};

// Asserts that opening `bytes` fails with exactly `message` (and `tensor`, when given).
void expect_refusal(const std::vector<uint8_t>& bytes, const std::string& message, const std::string& tensor = "") {
  Fixture f;
  auto r = f.open(bytes);
  BOOST_REQUIRE_MESSAGE(!r.ok(), "the file was accepted; expected: " << message);
  BOOST_CHECK_EQUAL(r.status().message(), message);
  BOOST_CHECK_EQUAL(r.status().tensor(), tensor);
  BOOST_CHECK(r.status().code() == ErrorCode::bad_input);
  BOOST_CHECK(!r.status().file().empty());  // the host names the file
}

// Writes metadata and tensors (with their data) through the plugin's writer.
Result<std::vector<uint8_t>> write_gguf(const Metadata& metadata, const std::vector<TensorInfo>& tensors,
                                        const std::vector<std::vector<uint8_t>>& data,
                                        const CodecCatalog& catalog = qf_test::plugins()) {
  MemorySink sink;
  auto writer = gguf().create_writer(sink, catalog, {});
  if (!writer.ok()) return writer.take_status();
  auto order = (*writer)->begin(metadata, tensors);
  if (!order.ok()) return order.take_status();
  for (size_t i : *order) {
    const auto& d = data[i];
    QF_RETURN_IF_ERROR((*writer)->write_tensor(i, std::as_bytes(std::span(d))));
  }
  QF_RETURN_IF_ERROR((*writer)->finish());
  return sink.data();
}

// Reads every tensor of `reader` and writes the whole model to `sink`.
Status copy_through(const Reader& reader, OutputSink& sink) {
  auto writer = gguf().create_writer(sink, qf_test::plugins(), {});
  if (!writer.ok()) return writer.take_status();
  auto order = (*writer)->begin(reader.metadata(), reader.tensors());
  if (!order.ok()) return order.take_status();
  for (size_t i : *order) {
    auto data = reader.read(i);
    if (!data.ok()) return data.take_status();
    QF_RETURN_IF_ERROR((*writer)->write_tensor(i, data->bytes));
  }
  return (*writer)->finish();
}

TensorInfo make_tensor(std::string name, std::string dtype_name, Shape shape) {
  TensorInfo t;
  t.name = std::move(name);
  t.dtype.name = std::move(dtype_name);
  t.shape = std::move(shape);
  if (t.dtype.name == "f32") {
    t.dtype = DType{"f32", 1, 4, DTypeKind::floating};
  } else if (t.dtype.name == "f16") {
    t.dtype = DType{"f16", 1, 2, DTypeKind::floating};
  } else if (t.dtype.name == "q4_0") {
    t.dtype = DType{"q4_0", 32, 18, DTypeKind::quantized};
  }
  t.n_bytes = element_count(t.shape) / t.dtype.block_elems * t.dtype.block_bytes;
  return t;
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

uint32_t f32_bits(const MetaValue& v) {
  // The reader parks a NaN's exact bits in `integer`; a hand-made NaN leaves it 0.
  if (std::isnan(v.real) && v.integer != 0) return static_cast<uint32_t>(v.integer);
  const float f = static_cast<float>(v.real);
  return std::bit_cast<uint32_t>(f);
}

std::vector<fs::path> shared_gguf_files() {
  std::vector<fs::path> files;
  for (const char* dir : {"reference", "models"})
    for (const auto& e : fs::directory_iterator(qf_test::shared_testdata() / dir))
      if (e.path().extension() == ".gguf") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

const TensorInfo* find_tensor(const Reader& r, std::string_view name) {
  for (const auto& t : r.tensors())
    if (t.name == name) return &t;
  return nullptr;
}

std::string property(const Reader& r, const std::string& key) {
  for (const auto& [k, v] : r.properties())
    if (k == key) return v.is_integer() ? std::to_string(v.as_u64()) : v.text;
  return "<absent>";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(descriptor)

BOOST_AUTO_TEST_CASE(probe_claims_gguf_and_old_ggml) {
  const auto& c = gguf();
  BOOST_CHECK_EQUAL(std::string(c.name), "gguf");
  BOOST_CHECK_EQUAL(std::string(c.extensions), ".gguf");
  BOOST_CHECK(c.open_reader != nullptr && c.create_writer != nullptr);
  auto probe = [&](std::vector<uint8_t> head) { return c.probe(head.data(), head.size()); };
  BOOST_CHECK_EQUAL(probe({'G', 'G', 'U', 'F', 3, 0, 0, 0}), 100);
  BOOST_CHECK_EQUAL(probe({'G', 'G', 'U', 'F', 9, 0, 0, 0}), 100);
  BOOST_CHECK_EQUAL(probe({'l', 'm', 'g', 'g'}), 100);
  BOOST_CHECK_EQUAL(probe({'f', 'm', 'g', 'g', 1, 0, 0, 0}), 100);
  BOOST_CHECK_EQUAL(probe({'t', 'j', 'g', 'g', 3, 0, 0, 0}), 100);
  BOOST_CHECK_EQUAL(probe({'G', 'G', 'U'}), 0);
  BOOST_CHECK_EQUAL(probe({'{', '"', 'a', '"'}), 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(metadata)

BOOST_AUTO_TEST_CASE(every_value_type_round_trips) {
  const float f32_values[] = {0.0f,
                              -0.0f,
                              1.5f,
                              std::numeric_limits<float>::denorm_min(),
                              std::numeric_limits<float>::max(),
                              -std::numeric_limits<float>::infinity(),
                              std::bit_cast<float>(0x7fc12345u)};
  const double f64_values[] = {-0.0, 0.1, std::numeric_limits<double>::denorm_min(),
                               std::bit_cast<double>(0x7ff8000000000abcull)};

  Metadata m;
  m.append("u8", MetaValue::make_unsigned(MetaType::u8, 255));
  m.append("i8", MetaValue::make_signed(MetaType::i8, -128));
  m.append("u16", MetaValue::make_unsigned(MetaType::u16, 65535));
  m.append("i16", MetaValue::make_signed(MetaType::i16, -32768));
  m.append("u32", MetaValue::make_u32(0xfffffffeu));
  m.append("i32", MetaValue::make_i32(std::numeric_limits<int32_t>::min()));
  m.append("u64", MetaValue::make_u64(std::numeric_limits<uint64_t>::max()));
  m.append("i64", MetaValue::make_signed(MetaType::i64, std::numeric_limits<int64_t>::min()));
  m.append("bool.true", MetaValue::make_bool(true));
  m.append("bool.false", MetaValue::make_bool(false));
  m.append("string", MetaValue::make_string("h\xc3\xa9llo, world"));
  m.append("string.empty", MetaValue::make_string(""));
  for (size_t i = 0; i < std::size(f32_values); ++i)
    m.append("f32." + std::to_string(i), MetaValue::make_f32(f32_values[i]));
  for (size_t i = 0; i < std::size(f64_values); ++i)
    m.append("f64." + std::to_string(i), MetaValue::make_f64(f64_values[i]));
  // A signalling NaN cannot survive a trip through double; the reader keeps its bits.
  {
    MetaValue snan = MetaValue::make_f32(std::numeric_limits<float>::quiet_NaN());
    snan.integer = 0x7f800001u;
    m.append("f32.snan", snan);
  }
  m.append("array.empty", MetaValue::make_array(MetaType::i32, {}));
  m.append("array.empty_strings", MetaValue::make_array(MetaType::string, {}));
  m.append("array.strings",
           MetaValue::make_array(MetaType::string, {MetaValue::make_string("a"), MetaValue::make_string(""),
                                                    MetaValue::make_string("<s>")}));
  m.append("array.f32", MetaValue::make_array(MetaType::f32, {MetaValue::make_f32(-0.0f), MetaValue::make_f32(2.5f)}));
  m.append("array.bool",
           MetaValue::make_array(MetaType::boolean, {MetaValue::make_bool(true), MetaValue::make_bool(false)}));
  m.append("array.nested",
           MetaValue::make_array(MetaType::array,
                                 {MetaValue::make_array(MetaType::u8, {MetaValue::make_unsigned(MetaType::u8, 1)}),
                                  MetaValue::make_array(MetaType::string, {}),
                                  MetaValue::make_array(MetaType::array, {MetaValue::make_array(MetaType::i64, {})})}));

  auto bytes = write_gguf(m, {}, {});
  BOOST_REQUIRE_MESSAGE(bytes.ok(), bytes.status().to_string());
  BOOST_CHECK_EQUAL(bytes->size() % 32, 0u);  // the header is padded even with no tensors

  Fixture f;
  auto reader = f.open(*bytes);
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  const Metadata& got = (*reader)->metadata();
  BOOST_CHECK(got == m);
  BOOST_REQUIRE_EQUAL(got.size(), m.size());
  for (size_t i = 0; i < m.size(); ++i) {
    BOOST_TEST_CONTEXT("key " << m.entries()[i].key) {
      BOOST_CHECK_EQUAL(got.entries()[i].key, m.entries()[i].key);
      const MetaValue& a = got.entries()[i].value;
      const MetaValue& b = m.entries()[i].value;
      BOOST_CHECK(a.type == b.type);
      if (a.type == MetaType::f32) BOOST_CHECK_EQUAL(f32_bits(a), f32_bits(b));
      if (a.type == MetaType::f64) BOOST_CHECK_EQUAL(std::bit_cast<uint64_t>(a.real), std::bit_cast<uint64_t>(b.real));
    }
  }
  BOOST_CHECK_EQUAL(f32_bits(*got.find("f32.snan")), 0x7f800001u);
  BOOST_CHECK_EQUAL(std::bit_cast<uint32_t>(static_cast<float>(got.find("f32.1")->real)), 0x80000000u);
  const MetaValue* nested = got.find("array.nested");
  BOOST_REQUIRE(nested != nullptr);
  BOOST_CHECK(nested->element_type == MetaType::array);
  BOOST_CHECK(nested->elements[1].element_type == MetaType::string);
  BOOST_CHECK(nested->elements[2].elements[0].element_type == MetaType::i64);

  // Written again, the file is the same to the byte.
  BOOST_CHECK_EQUAL((*reader)->tensors().size(), 0u);
  MemorySink again;
  BOOST_REQUIRE(copy_through(**reader, again).ok());
  BOOST_CHECK(again.data() == *bytes);
}

BOOST_AUTO_TEST_CASE(header_layout_is_ggml_s) {
  Metadata m;
  m.append("general.architecture", MetaValue::make_string("llama"));
  auto bytes = write_gguf(m, {make_tensor("w", "f32", {2, 3})}, {pattern(24, 1)});
  BOOST_REQUIRE(bytes.ok());
  Builder want;
  want.header(1, 1).str("general.architecture").put<uint32_t>(8).str("llama");
  want.tensor("w", {3, 2}, 0, 0).pad();
  const auto data = pattern(24, 1);
  want.bytes.insert(want.bytes.end(), data.begin(), data.end());
  want.pad();
  BOOST_CHECK(*bytes == want.bytes);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(refusals)

BOOST_AUTO_TEST_CASE(old_versions) {
  // v1 stores the counts as u32.
  Builder v1;
  v1.bytes = {'G', 'G', 'U', 'F'};
  v1.put<uint32_t>(1).put<uint32_t>(0).put<uint32_t>(0);
  expect_refusal(v1.bytes,
                 "GGUF v1 is not supported (its counts and lengths are 32-bit; ggml no longer reads it either); "
                 "convert it with a current llama.cpp first");
  expect_refusal(Builder().header(0, 0, 4).bytes, "GGUF version 4 is not supported; quantflow reads GGUF v2 and v3");
  expect_refusal(Builder().header(0, 0, 0).bytes, "GGUF version 0 is invalid");
  expect_refusal(Builder().header(0, 0, 0x03000000u).bytes,
                 "big-endian GGUF file (version field reads 50331648 little-endian); quantflow reads little-endian "
                 "GGUF only");
}

BOOST_AUTO_TEST_CASE(version_2_reads_like_version_3) {
  // v2 differs from v3 only in the version field (gguf.md §9): same counts, same layout.
  Builder b;
  b.header(1, 2, 2).kv_u32("general.alignment", 32).str("general.name").put<uint32_t>(8).str("v2");
  b.tensor("w", {4, 2}, 0, 0).pad();
  const auto data = pattern(32, 5);
  b.bytes.insert(b.bytes.end(), data.begin(), data.end());
  Fixture f;
  auto reader = f.open(b.bytes);
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  const Reader& r = **reader;
  BOOST_CHECK_EQUAL(r.version(), "2");
  BOOST_CHECK_EQUAL(r.metadata().size(), 2u);
  BOOST_CHECK_EQUAL(r.metadata().find("general.name")->text, "v2");
  BOOST_REQUIRE_EQUAL(r.tensors().size(), 1u);
  BOOST_CHECK(r.tensors()[0].shape == (Shape{2, 4}));
  auto d = r.read(0);
  BOOST_REQUIRE(d.ok());
  BOOST_CHECK(std::equal(d->bytes.begin(), d->bytes.end(), reinterpret_cast<const std::byte*>(data.data())));
  // Copied, it becomes the v3 file ggml would write: only the version field changes.
  MemorySink sink;
  BOOST_REQUIRE(copy_through(r, sink).ok());
  std::vector<uint8_t> want = b.bytes;
  want[4] = 3;
  BOOST_CHECK(sink.data() == want);
}

BOOST_AUTO_TEST_CASE(pre_gguf_files) {
  Builder ggjt;
  ggjt.bytes = {'t', 'j', 'g', 'g'};
  ggjt.put<uint32_t>(3).fill(64, 0);
  expect_refusal(ggjt.bytes, "pre-GGUF ggml file (GGJT v3); convert it with a current llama.cpp first");
  Builder ggmf;
  ggmf.bytes = {'f', 'm', 'g', 'g'};
  ggmf.put<uint32_t>(1).fill(64, 0);
  expect_refusal(ggmf.bytes, "pre-GGUF ggml file (GGMF v1); convert it with a current llama.cpp first");
  Builder ggml;
  ggml.bytes = {'l', 'm', 'g', 'g'};
  ggml.fill(64, 0);
  expect_refusal(ggml.bytes, "pre-GGUF ggml file (GGML, unversioned); convert it with a current llama.cpp first");
}

BOOST_AUTO_TEST_CASE(truncated_header) {
  Builder b;
  b.bytes = {'G', 'G', 'U', 'F'};
  b.put<uint32_t>(3).put<uint32_t>(0);
  expect_refusal(b.bytes, "truncated GGUF header: the file has 12 bytes, the header needs 24");
  Builder only_magic;
  only_magic.bytes = {'G', 'G', 'U', 'F', 3};
  expect_refusal(only_magic.bytes, "truncated GGUF header: the file has 5 bytes, the header needs 24");
}

BOOST_AUTO_TEST_CASE(truncated_metadata_and_infos) {
  Builder kv;
  kv.header(0, 1).str("general.name").put<uint32_t>(4).put<uint16_t>(1);
  expect_refusal(kv.bytes, "truncated file: it ends inside the value of metadata 'general.name' (file size 50 bytes)");
  Builder info;
  info.header(1, 0).str("w").put<uint32_t>(4).put<uint64_t>(4).put<uint64_t>(1).put<uint64_t>(1).put<uint64_t>(1);
  expect_refusal(info.bytes, "truncated file: it ends inside the tensor info (file size 69 bytes)", "w");
}

BOOST_AUTO_TEST_CASE(truncated_tensor_data) {
  Builder b;
  b.header(1, 0).tensor("w", {8, 2}, 0, 0).pad().fill(40, 1);
  expect_refusal(b.bytes, "truncated tensor data: 64 bytes at data offset 0 run past the end of the file (136 bytes)",
                 "w");
}

BOOST_AUTO_TEST_CASE(hostile_counts_and_lengths) {
  expect_refusal(Builder().header(0, 1ull << 40).fill(16, 0).bytes,
                 "header claims 1099511627776 metadata entries, more than the remaining 16 bytes can hold");
  expect_refusal(Builder().header(1ull << 62, 0).fill(16, 0).bytes,
                 "header claims 4611686018427387904 tensors, more than the remaining 16 bytes can hold");
  Builder key;
  key.header(0, 1).put<uint64_t>(~0ull).fill(8, 'a');
  expect_refusal(key.bytes, "metadata key #0: string of 18446744073709551615 bytes runs past the end of the file");
  Builder array;
  array.header(0, 1).str("a").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(1ull << 60).fill(8, 0);
  expect_refusal(array.bytes, "metadata 'a': array of 1152921504606846976 elements runs past the end of the file");
  Builder type;
  type.header(0, 1).str("a").put<uint32_t>(13).fill(8, 0);
  expect_refusal(type.bytes, "metadata 'a': invalid value type 13");
  Builder etype;
  etype.header(0, 1).str("a").put<uint32_t>(9).put<uint32_t>(77).put<uint64_t>(0);
  expect_refusal(etype.bytes, "metadata 'a': invalid array element type 77");
  Builder deep;
  deep.header(0, 1).str("a").put<uint32_t>(9);
  for (int i = 0; i < 100; ++i) deep.put<uint32_t>(9).put<uint64_t>(1);
  deep.put<uint32_t>(0).put<uint64_t>(0);
  expect_refusal(deep.bytes, "metadata 'a': arrays nested deeper than 64 levels");
}

BOOST_AUTO_TEST_CASE(duplicate_and_empty_keys) {
  expect_refusal(Builder().header(0, 2).kv_u32("a.b", 1).kv_u32("a.b", 2).bytes, "duplicate metadata key 'a.b'");
  expect_refusal(Builder().header(0, 1).kv_u32("", 1).bytes, "metadata entry #0 has an empty key");
}

BOOST_AUTO_TEST_CASE(bad_alignment) {
  expect_refusal(Builder().header(0, 1).kv_u32("general.alignment", 48).bytes,
                 "general.alignment must be a non-zero power of two, not 48");
  expect_refusal(Builder().header(0, 1).kv_u32("general.alignment", 0).bytes,
                 "general.alignment must be a non-zero power of two, not 0");
  Builder wrong_type;
  wrong_type.header(0, 1).str("general.alignment").put<uint32_t>(10).put<uint64_t>(32);
  expect_refusal(wrong_type.bytes, "general.alignment must be a u32, not u64");
}

BOOST_AUTO_TEST_CASE(bad_type_ids) {
  expect_refusal(Builder().header(1, 0).tensor("x", {32}, 57, 0).pad().fill(64, 0).bytes, "unknown ggml type id 57",
                 "x");
  expect_refusal(Builder().header(1, 0).tensor("old", {32}, 4, 0).pad().fill(64, 0).bytes,
                 "ggml type id 4 (q4_2) was removed from ggml; convert the model again with a current llama.cpp",
                 "old");
  expect_refusal(Builder().header(1, 0).tensor("rp", {32}, 31, 0).pad().fill(64, 0).bytes,
                 "ggml type id 31 (q4_0_4_4) was removed from ggml; convert the model again with a current llama.cpp",
                 "rp");
  // 99 is plugin-defined (no bundled codec claims it): unknown without a codec that claims it.
  expect_refusal(Builder().header(1, 0).tensor("fp8", {32}, 99, 0).pad().fill(64, 0).bytes, "unknown ggml type id 99",
                 "fp8");
}

BOOST_AUTO_TEST_CASE(bad_tensor_infos) {
  const std::string long_name(64, 'n');
  expect_refusal(Builder().header(1, 0).tensor(long_name, {4}, 0, 0).pad().fill(32, 0).bytes,
                 "name is 64 bytes long; GGUF allows at most 63", long_name);
  expect_refusal(Builder().header(1, 0).tensor("w", {1, 1, 1, 1, 1}, 0, 0).pad().fill(32, 0).bytes,
                 "n_dims is 5; GGUF allows 1 to 4", "w");
  expect_refusal(Builder().header(1, 0).tensor("w", {}, 0, 0).pad().fill(32, 0).bytes,
                 "n_dims is 0; GGUF allows 1 to 4", "w");
  expect_refusal(Builder().header(1, 0).tensor("q", {48, 2}, 2, 0).pad().fill(64, 0).bytes,
                 "row length 48 is not a multiple of the q4_0 block size 32", "q");
  expect_refusal(Builder().header(1, 0).tensor("w", {1ull << 63}, 0, 0).pad().bytes, "dimension 0 is negative", "w");
  expect_refusal(Builder().header(1, 0).tensor("w", {1ull << 32, 1ull << 32}, 0, 0).pad().bytes,
                 "element count overflows 64 bits", "w");
  expect_refusal(Builder().header(1, 0).tensor("w", {1ull << 62}, 0, 0).pad().bytes, "byte size overflows 64 bits",
                 "w");
  expect_refusal(Builder().header(2, 0).tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32).pad().fill(64, 0).bytes,
                 "duplicate tensor name", "w");
  expect_refusal(Builder().header(1, 0).tensor("w", {8}, 0, 16).pad().fill(64, 0).bytes,
                 "data offset 16 is not a multiple of the alignment 32", "w");
  expect_refusal(Builder().header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {8}, 0, 32).pad().fill(96, 0).bytes,
                 "data overlaps the data of tensor 'a'", "b");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tensors)

BOOST_AUTO_TEST_CASE(lazy_reads_and_odd_layouts) {
  // Two tensors stored out of order with a gap: legal, though not what ggml writes.
  Builder b;
  b.header(2, 1).kv_u32("general.alignment", 64).tensor("first", {4, 2}, 0, 128).tensor("second", {64}, 2, 0).pad(64);
  const size_t data_start = b.bytes.size();
  const auto second = pattern(36, 3), first = pattern(32, 9);
  b.bytes.insert(b.bytes.end(), second.begin(), second.end());
  b.fill(128 - 36, 0);
  b.bytes.insert(b.bytes.end(), first.begin(), first.end());

  Fixture f;
  const fs::path path = f.write(b.bytes);
  auto reader = qf_test::plugins().open_reader(path.string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  const Reader& r = **reader;
  BOOST_CHECK_EQUAL(r.container(), "gguf");
  BOOST_CHECK_EQUAL(r.version(), "3");
  BOOST_REQUIRE_EQUAL(r.tensors().size(), 2u);
  const TensorInfo& t0 = r.tensors()[0];
  BOOST_CHECK_EQUAL(t0.name, "first");
  BOOST_CHECK(t0.shape == (Shape{2, 4}));
  BOOST_CHECK_EQUAL(t0.dtype.name, "f32");
  BOOST_CHECK_EQUAL(t0.n_bytes, 32u);
  BOOST_CHECK_EQUAL(t0.offset, 128u);
  const TensorInfo& t1 = r.tensors()[1];
  BOOST_CHECK(t1.shape == (Shape{64}));
  BOOST_CHECK_EQUAL(t1.dtype.name, "q4_0");
  BOOST_CHECK_EQUAL(t1.dtype.block_elems, 32u);
  BOOST_CHECK_EQUAL(t1.n_bytes, 36u);
  BOOST_CHECK(t1.dtype.kind == DTypeKind::quantized);

  auto d0 = r.read(0), d1 = r.read(1);
  BOOST_REQUIRE(d0.ok() && d1.ok());
  BOOST_CHECK(std::equal(d0->bytes.begin(), d0->bytes.end(), reinterpret_cast<const std::byte*>(first.data())));
  BOOST_CHECK(std::equal(d1->bytes.begin(), d1->bytes.end(), reinterpret_cast<const std::byte*>(second.data())));
  BOOST_CHECK(!r.read(2).ok());

  BOOST_CHECK_EQUAL(property(r, "alignment"), "64");
  BOOST_CHECK_EQUAL(property(r, "data_offset"), std::to_string(data_start));
  BOOST_CHECK_EQUAL(property(r, "metadata_entries"), "1");
  BOOST_CHECK_EQUAL(property(r, "tensor_info_bytes"),
                    std::to_string((8 + 5 + 4 + 16 + 4 + 8) + (8 + 6 + 4 + 8 + 4 + 8)));

  // Copied, the layout becomes ggml's canonical one.
  MemorySink sink;
  BOOST_REQUIRE(copy_through(r, sink).ok());
  Builder want;
  want.header(2, 1).kv_u32("general.alignment", 64).tensor("first", {4, 2}, 0, 0).tensor("second", {64}, 2, 64).pad(64);
  want.bytes.insert(want.bytes.end(), first.begin(), first.end());
  want.fill(32, 0);
  want.bytes.insert(want.bytes.end(), second.begin(), second.end());
  want.pad(64);
  BOOST_CHECK(sink.data() == want.bytes);
}

BOOST_AUTO_TEST_CASE(no_tensors) {
  // Exactly a header: no metadata, no tensors, no padding (24 is not a multiple of 32).
  Fixture f;
  auto reader = f.open(Builder().header(0, 0).bytes);
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  BOOST_CHECK_EQUAL((*reader)->tensors().size(), 0u);
  BOOST_CHECK_EQUAL((*reader)->metadata().size(), 0u);
  BOOST_CHECK_EQUAL(property(**reader, "data_offset"), "32");
  // ggml's writer still pads the header.
  MemorySink sink;
  BOOST_REQUIRE(copy_through(**reader, sink).ok());
  auto want = Builder().header(0, 0).pad().bytes;
  BOOST_CHECK(sink.data() == want);
}

BOOST_AUTO_TEST_CASE(n_dims_follows_ggml) {
  // [1, 8] is stored 1-D, like ggml_n_dims; [0, 8] keeps its empty dimension.
  auto bytes = write_gguf(
      {},
      {make_tensor("row", "f32", {1, 8}), make_tensor("empty", "f32", {0, 8}), make_tensor("scalar", "f32", {}),
       make_tensor("big", "f32", {1, 2, 1, 3, 4}), make_tensor("q", "q4_0", {2, 64})},
      {pattern(32, 0), {}, pattern(4, 1), pattern(96, 2), pattern(72, 3)});
  BOOST_REQUIRE_MESSAGE(bytes.ok(), bytes.status().to_string());
  Fixture f;
  auto reader = f.open(*bytes);
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  const auto& t = (*reader)->tensors();
  BOOST_REQUIRE_EQUAL(t.size(), 5u);
  BOOST_CHECK(t[0].shape == (Shape{8}));
  BOOST_CHECK(t[1].shape == (Shape{0, 8}));
  BOOST_CHECK_EQUAL(t[1].n_bytes, 0u);
  BOOST_CHECK(t[2].shape == (Shape{1}));
  BOOST_CHECK(t[3].shape == (Shape{2, 1, 3, 4}));
  BOOST_CHECK(t[4].shape == (Shape{2, 64}));
  BOOST_CHECK_EQUAL(t[4].offset, 32u + 0 + 32 + 96);
  auto d = (*reader)->read(4);
  BOOST_REQUIRE(d.ok());
  BOOST_CHECK(std::equal(d->bytes.begin(), d->bytes.end(), reinterpret_cast<const std::byte*>(pattern(72, 3).data())));
}

BOOST_AUTO_TEST_CASE(plugin_defined_type_ids) {
  FakeCatalog catalog;
  TensorInfo t;
  t.name = "fp8";
  t.dtype = DType{"fp8_blk", 32, 33, DTypeKind::quantized};
  t.shape = {2, 64};
  t.n_bytes = 2 * 2 * 33;
  auto bytes = write_gguf({}, {t}, {pattern(132, 5)}, catalog);
  BOOST_REQUIRE_MESSAGE(bytes.ok(), bytes.status().to_string());
  Fixture f;
  const fs::path path = f.write(*bytes);
  auto reader = gguf().open_reader(path.string(), catalog);
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  BOOST_CHECK((*reader)->tensors()[0].dtype == t.dtype);
  BOOST_CHECK((*reader)->tensors()[0].shape == t.shape);
  // Without the codec, the same id is unknown.
  auto plain = qf_test::plugins().open_reader(path.string());
  BOOST_REQUIRE(!plain.ok());
  BOOST_CHECK_EQUAL(plain.status().to_string(), path.string() + ": tensor 'fp8': unknown ggml type id 99");
}

BOOST_AUTO_TEST_CASE(writer_refusals) {
  auto refuse = [](TensorInfo t, const std::string& message) {
    auto bytes = write_gguf({}, {t}, {std::vector<uint8_t>(t.n_bytes)});
    BOOST_REQUIRE_MESSAGE(!bytes.ok(), "accepted; expected " << message);
    BOOST_CHECK_EQUAL(bytes.status().to_string(), "tensor '" + t.name + "': " + message);
  };
  refuse(make_tensor(std::string(64, 'n'), "f32", {4}), "name is 64 bytes long; GGUF allows at most 63");
  refuse(make_tensor("w", "f32", {2, 2, 2, 2, 2}),
         "shape [2, 2, 2, 2, 2] has more than 4 dimensions, which GGUF cannot store");
  refuse(make_tensor("q", "q4_0", {2, 48}), "row length 48 is not a multiple of the q4_0 block size 32");
  TensorInfo odd = make_tensor("x", "f32", {4});
  odd.dtype = DType{"no_such_type", 1, 1, DTypeKind::floating};
  refuse(odd, "cannot store dtype 'no_such_type' in GGUF");
  TensorInfo wrong_size = make_tensor("w", "f32", {4});
  wrong_size.n_bytes = 15;
  refuse(wrong_size, "n_bytes is 15 but shape [4] of f32 needs 16");

  Metadata bad_alignment;
  bad_alignment.append("general.alignment", MetaValue::make_u32(24));
  auto a = write_gguf(bad_alignment, {}, {});
  BOOST_REQUIRE(!a.ok());
  BOOST_CHECK_EQUAL(a.status().message(), "general.alignment must be a non-zero power of two, not 24");
  Metadata duplicate;
  duplicate.append("k", MetaValue::make_u32(1));
  duplicate.append("k", MetaValue::make_u32(2));
  auto d = write_gguf(duplicate, {}, {});
  BOOST_REQUIRE(!d.ok());
  BOOST_CHECK_EQUAL(d.status().message(), "duplicate metadata key 'k'");
  Metadata mixed;
  mixed.append("k", MetaValue::make_array(MetaType::u32, {MetaValue::make_u32(1), MetaValue::make_i32(2)}));
  auto m = write_gguf(mixed, {}, {});
  BOOST_REQUIRE(!m.ok());
  BOOST_CHECK_EQUAL(m.status().message(), "metadata 'k': array element 1 is i32 but the array holds u32");
  Metadata range;
  range.append("k", MetaValue::make_unsigned(MetaType::u8, 256));
  auto r = write_gguf(range, {}, {});
  BOOST_REQUIRE(!r.ok());
  BOOST_CHECK_EQUAL(r.status().message(), "metadata 'k': value 256 does not fit in u8");
}

BOOST_AUTO_TEST_CASE(writer_protocol) {
  MemorySink sink;
  auto writer = gguf().create_writer(sink, qf_test::plugins(), {});
  BOOST_REQUIRE(writer.ok());
  auto order = (*writer)->begin({}, {make_tensor("a", "f32", {2}), make_tensor("b", "f32", {3})});
  BOOST_REQUIRE(order.ok());
  BOOST_CHECK(*order == (std::vector<size_t>{0, 1}));
  const auto bytes = pattern(12, 0);
  auto s = (*writer)->write_tensor(0, std::as_bytes(std::span(bytes)));
  BOOST_CHECK(!s.ok());
  BOOST_CHECK_EQUAL(s.to_string(), "tensor 'a': GGUF writer: got 12 bytes, expected 8");
  BOOST_CHECK(!(*writer)->finish().ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(shared_files, *boost::unit_test::precondition(qf_test::shared_data_available()))

BOOST_AUTO_TEST_CASE(every_shared_file_reads) {
  const std::map<std::string, size_t> tensor_counts = {
      {"stories260K.gguf", 48},
  };
  const auto files = shared_gguf_files();
  BOOST_REQUIRE_GE(files.size(), 7u);
  for (const auto& path : files) {
    BOOST_TEST_CONTEXT(path.filename().string()) {
      auto reader = qf_test::plugins().open_reader(path.string());
      BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
      const Reader& r = **reader;
      BOOST_CHECK_EQUAL(r.version(), "3");
      BOOST_CHECK(!r.tensors().empty());
      BOOST_CHECK(r.metadata().contains("general.architecture"));
      auto it = tensor_counts.find(path.filename().string());
      if (it != tensor_counts.end()) BOOST_CHECK_EQUAL(r.tensors().size(), it->second);
      uint64_t total = 0;
      for (size_t i = 0; i < r.tensors().size(); ++i) {
        auto d = r.read(i);
        BOOST_REQUIRE(d.ok());
        BOOST_CHECK_EQUAL(d->bytes.size(), r.tensors()[i].n_bytes);
        total += r.tensors()[i].n_bytes;
      }
      BOOST_CHECK_LE(total, fs::file_size(path));
    }
  }
}

BOOST_AUTO_TEST_CASE(synth_llama_shapes) {
  auto reader =
      qf_test::plugins().open_reader((qf_test::shared_testdata() / "reference" / "synth-llama.gguf").string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
  const Reader& r = **reader;
  BOOST_CHECK_EQUAL(r.metadata().find("general.architecture")->text, "llama");
  BOOST_CHECK_EQUAL(r.metadata().find("llama.block_count")->as_u64(), 4u);
  BOOST_CHECK_EQUAL(r.metadata().find("llama.embedding_length")->as_u64(), 256u);
  BOOST_CHECK_EQUAL(r.metadata().find("llama.feed_forward_length")->as_u64(), 768u);
  BOOST_CHECK_EQUAL(r.tensors().size(), 3u + 4u * 9u);
  const TensorInfo* embd = find_tensor(r, "token_embd.weight");
  BOOST_REQUIRE(embd != nullptr);
  BOOST_CHECK(embd->shape == (Shape{512, 256}));
  BOOST_CHECK_EQUAL(embd->dtype.name, "f32");
  const TensorInfo* up = find_tensor(r, "blk.3.ffn_up.weight");
  BOOST_REQUIRE(up != nullptr);
  BOOST_CHECK(up->shape == (Shape{768, 256}));
  const TensorInfo* kproj = find_tensor(r, "blk.0.attn_k.weight");
  BOOST_REQUIRE(kproj != nullptr);
  BOOST_CHECK(kproj->shape == (Shape{128, 256}));
  const TensorInfo* norm = find_tensor(r, "output_norm.weight");
  BOOST_REQUIRE(norm != nullptr);
  BOOST_CHECK(norm->shape == (Shape{256}));
  BOOST_CHECK_EQUAL(property(r, "alignment"), "32");

  auto q4k =
      qf_test::plugins().open_reader((qf_test::shared_testdata() / "reference" / "synth-llama-Q4_K_M.gguf").string());
  BOOST_REQUIRE(q4k.ok());
  std::map<std::string, int> types;
  for (const auto& t : (*q4k)->tensors()) ++types[t.dtype.name];
  BOOST_CHECK(types.count("q4_k") == 1 && types.count("q6_k") == 1);
  BOOST_CHECK_EQUAL((*q4k)->metadata().find("general.file_type")->as_u64(), 15u);
}

BOOST_AUTO_TEST_CASE(real_models) {
  auto stories = qf_test::plugins().open_reader((qf_test::shared_testdata() / "models" / "stories260K.gguf").string());
  BOOST_REQUIRE_MESSAGE(stories.ok(), stories.status().to_string());
  BOOST_CHECK_EQUAL((*stories)->tensors().size(), 48u);
  BOOST_CHECK_EQUAL((*stories)->metadata().find("llama.block_count")->as_u64(), 5u);
  const MetaValue* tokens = (*stories)->metadata().find("tokenizer.ggml.tokens");
  BOOST_REQUIRE(tokens != nullptr);
  BOOST_CHECK(tokens->element_type == MetaType::string);
  BOOST_CHECK_EQUAL(tokens->elements.size(), 512u);
  const TensorInfo* down = find_tensor(**stories, "blk.0.ffn_down.weight");
  BOOST_REQUIRE(down != nullptr);
  BOOST_CHECK(down->shape == (Shape{64, 172}));

  auto tiny =
      qf_test::plugins().open_reader((qf_test::shared_testdata() / "models" / "llama-2-tiny-random.gguf").string());
  BOOST_REQUIRE_MESSAGE(tiny.ok(), tiny.status().to_string());
  BOOST_CHECK_EQUAL((*tiny)->metadata().find("general.file_type")->as_u64(), 1u);
  std::map<std::string, int> types;
  for (const auto& t : (*tiny)->tensors()) ++types[t.dtype.name];
  BOOST_CHECK(types.count("f16") == 1 && types.count("f32") == 1);
}

BOOST_AUTO_TEST_CASE(copies_are_byte_identical) {
  for (const auto& path : shared_gguf_files()) {
    BOOST_TEST_CONTEXT(path.filename().string()) {
      auto reader = qf_test::plugins().open_reader(path.string());
      BOOST_REQUIRE_MESSAGE(reader.ok(), reader.status().to_string());
      MemorySink sink;
      auto s = copy_through(**reader, sink);
      BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
      const auto original = qf_test::read_bytes(path);
      const auto copy = sink.data();
      BOOST_CHECK_EQUAL(copy.size(), original.size());
      const auto mismatch = std::mismatch(copy.begin(), copy.end(), original.begin(), original.end());
      BOOST_CHECK_MESSAGE(mismatch.first == copy.end() && mismatch.second == original.end(),
                          "first difference at byte " << (mismatch.first - copy.begin()));
    }
  }
}

// Truncations and byte flips in the header region must give errors, never crashes or
// runaway allocations.
BOOST_AUTO_TEST_CASE(damaged_headers_are_refused_cleanly) {
  const auto original = qf_test::read_bytes(qf_test::shared_testdata() / "models" / "stories260K.gguf");
  uint64_t data_offset = 0;
  {
    auto r = qf_test::plugins().open_reader((qf_test::shared_testdata() / "models" / "stories260K.gguf").string());
    BOOST_REQUIRE(r.ok());
    data_offset = std::stoull(property(**r, "data_offset"));
  }
  Fixture f;
  for (uint64_t cut = 1; cut < data_offset; cut += data_offset / 97 + 1) {
    std::vector<uint8_t> head(original.begin(), original.begin() + static_cast<std::ptrdiff_t>(cut));
    auto r = f.open(head, true);
    BOOST_CHECK_MESSAGE(!r.ok(), "a file cut at " << cut << " bytes was accepted");
  }
  std::mt19937_64 rng(12345);
  int refused = 0;
  for (int i = 0; i < 300; ++i) {
    auto damaged = original;
    for (int k = 0; k < 4; ++k) damaged[rng() % data_offset] = static_cast<uint8_t>(rng());
    auto r = f.open(damaged, true);
    if (!r.ok()) {
      ++refused;
      BOOST_CHECK(r.status().message().find('\n') == std::string::npos);
    }
  }
  BOOST_TEST_MESSAGE(refused << " of 300 damaged files refused");
}

BOOST_AUTO_TEST_CASE(copy_through_atomic_file_sink) {
  const fs::path src = qf_test::shared_testdata() / "models" / "stories260K.gguf";
  qf_test::TempDir tmp;
  const fs::path target = tmp / "copy.gguf";
  auto reader = qf_test::plugins().open_reader(src.string());
  BOOST_REQUIRE(reader.ok());
  auto sink = core::AtomicFileSink::create(target.string(), {src.string()});
  BOOST_REQUIRE_MESSAGE(sink.ok(), sink.status().to_string());
  auto s = copy_through(**reader, **sink);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
  BOOST_REQUIRE((*sink)->commit().ok());
  BOOST_CHECK(qf_test::read_bytes(target) == qf_test::read_bytes(src));
}

BOOST_AUTO_TEST_SUITE_END()
