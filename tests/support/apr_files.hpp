// APR files for tests, made without the plugin: a byte-level builder (so hostile files can
// break any rule), an independent CRC-32, and the container's writer and reader as the host
// calls them.
#pragma once

#include <algorithm>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace qf_apr {

using namespace quantflow;
namespace fs = std::filesystem;

inline const ContainerDescriptor& container() {
  const ContainerDescriptor* c = qf_test::plugins().find_container("apr");
  BOOST_REQUIRE_MESSAGE(c != nullptr, "the apr container plugin is not loaded");
  return *c;
}

// Bitwise CRC-32 (IEEE, reflected 0xEDB88320), independent of zlib.
inline uint32_t crc32(const uint8_t* p, size_t n, uint32_t crc = 0) {
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

template <typename T>
void put(std::vector<uint8_t>& out, size_t at, T value) {
  if (out.size() < at + sizeof(T)) out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &value, sizeof(T));
}
template <typename T>
T get(const std::vector<uint8_t>& in, size_t at) {
  T value;
  std::memcpy(&value, in.data() + at, sizeof(T));
  return value;
}

inline uint32_t header_crc(const std::vector<uint8_t>& f) { return crc32(f.data() + 44, 20, crc32(f.data(), 40)); }
inline uint32_t footer_crc(const std::vector<uint8_t>& f) { return crc32(f.data(), f.size() - 4); }

// Recomputes both checksums after a test changed bytes.
inline void fix_checksums(std::vector<uint8_t>& f) {
  put<uint32_t>(f, 40, header_crc(f));
  put<uint32_t>(f, f.size() - 4, footer_crc(f));
}

struct RawTensor {
  std::string name;
  uint8_t dtype = 0;
  std::vector<uint64_t> dims;
  std::vector<uint8_t> data;
  std::optional<uint64_t> offset, size;  // overrides; by default laid out in order at multiples of 64
  std::optional<uint64_t> index_offset;  // what the index claims, when it is not where the data is
};

inline RawTensor raw_tensor(std::string name, uint8_t dtype, std::vector<uint64_t> dims, std::vector<uint8_t> data) {
  RawTensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.dims = std::move(dims);
  t.data = std::move(data);
  return t;
}

// A v2 file laid out as the spec's writer would, from the parts given; `index_bytes`
// replaces the encoded index when set.
struct RawFile {
  std::string metadata =
      R"({"model_type":"example","license":null,"data_source":null,"data_license":null,"total_size":0,"param_count":4})";
  std::vector<RawTensor> tensors;
  uint16_t flags = 0x0400;
  uint8_t version_major = 2;
  std::string magic = std::string("APR\0", 4);
  std::optional<uint32_t> tensor_count;
  std::optional<std::vector<uint8_t>> index_bytes;

  std::vector<uint8_t> build() const {
    const auto pad = [](uint64_t n) { return (n + 63) / 64 * 64; };
    std::vector<uint8_t> index;
    uint64_t offset = 0;
    std::vector<uint64_t> offsets;
    for (const auto& t : tensors) {
      const uint64_t at = t.offset.value_or(offset);
      offsets.push_back(at);
      offset = std::max(offset, at + pad(t.data.size()));
      put<uint16_t>(index, index.size(), static_cast<uint16_t>(t.name.size()));
      index.insert(index.end(), t.name.begin(), t.name.end());
      index.push_back(t.dtype);
      index.push_back(static_cast<uint8_t>(t.dims.size()));
      for (uint64_t d : t.dims) put<uint64_t>(index, index.size(), d);
      put<uint64_t>(index, index.size(), t.index_offset.value_or(at));
      put<uint64_t>(index, index.size(), t.size.value_or(t.data.size()));
    }
    if (index_bytes) index = *index_bytes;
    const uint64_t index_off = 64 + pad(metadata.size());
    const uint64_t data_off = index_off + pad(index.size());
    std::vector<uint8_t> f(data_off + offset + 4, 0);
    std::memcpy(f.data(), magic.data(), 4);
    f[4] = version_major;
    put<uint16_t>(f, 6, flags);
    put<uint32_t>(f, 8, tensor_count.value_or(static_cast<uint32_t>(tensors.size())));
    put<uint64_t>(f, 12, 64);
    put<uint32_t>(f, 20, static_cast<uint32_t>(metadata.size()));
    put<uint64_t>(f, 24, index_off);
    put<uint64_t>(f, 32, data_off);
    // std::copy rather than memcpy: an empty vector's data() may be null.
    std::copy(metadata.begin(), metadata.end(), f.begin() + 64);
    std::copy(index.begin(), index.end(), f.begin() + static_cast<std::ptrdiff_t>(index_off));
    for (size_t i = 0; i < tensors.size(); ++i)
      std::copy(tensors[i].data.begin(), tensors[i].data.end(),
                f.begin() + static_cast<std::ptrdiff_t>(data_off + offsets[i]));
    fix_checksums(f);
    return f;
  }
};

// "0x9BB8993B", as messages print checksums.
inline std::string hex32(uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", v);
  return text;
}

inline std::vector<uint8_t> f32_bytes(std::initializer_list<float> values) {
  std::vector<uint8_t> out(values.size() * 4);
  std::memcpy(out.data(), std::data(values), out.size());
  return out;
}

// The spec's §11 worked example as the builder makes it: one F32 tensor w [2, 2] = 1..4.
inline RawFile worked_example() {
  RawFile f;
  f.tensors.push_back(raw_tensor("w", 0, {2, 2}, f32_bytes({1, 2, 3, 4})));
  return f;
}

class MemorySink final : public OutputSink {
 public:
  explicit MemorySink(std::string target = "memory.apr") : target_(std::move(target)) {}
  Status write(std::span<const std::byte> bytes) override {
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    data.insert(data.end(), p, p + bytes.size());
    return {};
  }
  uint64_t position() const override { return data.size(); }
  const std::string& target_path() const override { return target_; }
  std::vector<uint8_t> data;

 private:
  std::string target_;
};

inline DType dtype_named(const char* name) {
  const CodecDescriptor* c = qf_test::plugins().find(name);
  BOOST_REQUIRE_MESSAGE(c != nullptr, "no codec plugin provides " << name);
  return dtype_of(*c);
}

inline TensorInfo tensor(std::string name, DType dtype, Shape shape) {
  TensorInfo t;
  t.name = std::move(name);
  t.n_bytes = dtype.bytes_for(element_count(shape));
  t.dtype = std::move(dtype);
  t.shape = std::move(shape);
  return t;
}

// Runs the whole writer protocol; data[i] belongs to tensors[i].
inline Status write_model(OutputSink& sink, const Metadata& metadata, const std::vector<TensorInfo>& tensors,
                          const std::vector<std::vector<uint8_t>>& data, const WriterOptions& options = {}) {
  auto writer = container().create_writer(sink, qf_test::plugins(), options);
  if (!writer.ok()) return writer.status();
  auto order = (*writer)->begin(metadata, tensors);
  if (!order.ok()) return order.status();
  for (size_t i : *order)
    QF_RETURN_IF_ERROR((*writer)->write_tensor(i, std::as_bytes(std::span(data[i].data(), data[i].size()))));
  return (*writer)->finish();
}

inline std::vector<uint8_t> write_ok(const Metadata& metadata, const std::vector<TensorInfo>& tensors,
                                     const std::vector<std::vector<uint8_t>>& data, const WriterOptions& options = {}) {
  MemorySink sink;
  const Status s = write_model(sink, metadata, tensors, data, options);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.to_string());
  return sink.data;
}

inline Result<std::unique_ptr<Reader>> open(const fs::path& path) {
  return container().open_reader(path.string(), qf_test::plugins());
}

inline std::unique_ptr<Reader> open_ok(const fs::path& path) {
  auto r = open(path);
  BOOST_REQUIRE_MESSAGE(r.ok(), "cannot open " << path << ": " << r.status().to_string());
  return std::move(r).value();
}

// The error opening these bytes as a file gives (one line, with the file).
inline std::string open_error(const std::vector<uint8_t>& bytes, const std::string& name = "bad.apr") {
  qf_test::TempDir dir;
  qf_test::write_bytes(dir / name, bytes.data(), bytes.size());
  auto r = open(dir / name);
  if (r.ok()) return "(opened)";
  return r.status().to_string();
}

inline std::vector<uint8_t> tensor_bytes(const Reader& r, size_t i) {
  auto d = r.read(i);
  BOOST_REQUIRE_MESSAGE(d.ok(), d.status().to_string());
  const auto* p = reinterpret_cast<const uint8_t*>(d->bytes.data());
  return std::vector<uint8_t>(p, p + d->bytes.size());
}

inline std::string property(const Reader& r, const std::string& key) {
  for (const auto& p : r.properties())
    if (p.key == key) return p.value.type == MetaType::string ? p.value.text : std::to_string(p.value.integer);
  return "(absent)";
}

// The metadata JSON of an APR file's bytes.
inline std::string metadata_text(const std::vector<uint8_t>& f) {
  const auto offset = get<uint64_t>(f, 12);
  const auto size = get<uint32_t>(f, 20);
  return std::string(reinterpret_cast<const char*>(f.data()) + offset, size);
}

}  // namespace qf_apr
