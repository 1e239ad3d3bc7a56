#include "format/index.hpp"

#include <cstring>
#include <string_view>

#include "format/format.hpp"
#include "quantflow/utf8.hpp"

namespace quantflow::apr {

namespace {

// name_len, dtype, ndim, offset, size: an entry with an empty name and no dimensions.
constexpr uint64_t kMinEntryBytes = 2 + 1 + 1 + 8 + 8;

class Cursor {
 public:
  explicit Cursor(std::span<const std::byte> bytes) : bytes_(bytes) {}
  uint64_t position() const { return pos_; }
  bool has(uint64_t n) const { return n <= bytes_.size() - pos_; }
  template <typename T>
  bool read(T& out) {
    if (!has(sizeof(T))) return false;
    std::memcpy(&out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool read_text(uint64_t n, std::string& out) {
    if (!has(n)) return false;
    out.assign(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(n));
    pos_ += n;
    return true;
  }

 private:
  std::span<const std::byte> bytes_;
  uint64_t pos_ = 0;
};

template <typename T>
void put(std::vector<std::byte>& out, T value) {
  const auto* p = reinterpret_cast<const std::byte*>(&value);
  out.insert(out.end(), p, p + sizeof(T));
}

}  // namespace

uint64_t entry_bytes(const IndexEntry& e) { return kMinEntryBytes + e.name.size() + 8 * e.dims.size(); }

Result<std::vector<IndexEntry>> parse_index(std::span<const std::byte> index, uint32_t count) {
  if (count > index.size() / kMinEntryBytes)
    return bad_input("tensor_count " + std::to_string(count) + " cannot fit in the " + std::to_string(index.size()) +
                     "-byte tensor index");
  std::vector<IndexEntry> entries;
  entries.reserve(count);
  Cursor cur(index);
  for (uint32_t i = 0; i < count; ++i) {
    const std::string where = "tensor index entry #" + std::to_string(i);
    const auto past_end = [&](const char* field) {
      return bad_input(where + ": its " + std::string(field) + " runs past the end of the " +
                       std::to_string(index.size()) + "-byte tensor index");
    };
    IndexEntry e;
    uint16_t name_len = 0;
    if (!cur.read(name_len) || !cur.read_text(name_len, e.name)) return past_end("name");
    if (const size_t bad = invalid_utf8_offset(e.name); bad != std::string_view::npos)
      return bad_input(where + ": the name is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    const auto fail = [&](std::string message) { return bad_input(std::move(message)).with_tensor(e.name); };
    uint8_t ndim = 0;
    if (!cur.read(e.dtype) || !cur.read(ndim)) return past_end("dtype").with_tensor(e.name);
    if (ndim > kMaxDims)
      return fail("ndim " + std::to_string(ndim) + " exceeds APR's limit of " + std::to_string(kMaxDims));
    e.dims.resize(ndim);
    for (auto& d : e.dims)
      if (!cur.read(d)) return past_end("shape").with_tensor(e.name);
    if (!cur.read(e.offset) || !cur.read(e.size)) return past_end("offset and size").with_tensor(e.name);
    if (!entries.empty()) {
      const std::string& prev = entries.back().name;
      if (prev == e.name) return fail("duplicate tensor name in the tensor index");
      // std::string compares as unsigned bytes: byte order.
      if (e.name < prev) return fail("the tensor index is not sorted by name: '" + e.name + "' follows '" + prev + "'");
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

std::vector<std::byte> encode_index(const std::vector<IndexEntry>& entries) {
  std::vector<std::byte> out;
  for (const auto& e : entries) {
    put(out, static_cast<uint16_t>(e.name.size()));
    const auto* name = reinterpret_cast<const std::byte*>(e.name.data());
    out.insert(out.end(), name, name + e.name.size());
    put(out, e.dtype);
    put(out, static_cast<uint8_t>(e.dims.size()));
    for (uint64_t d : e.dims) put(out, d);
    put(out, e.offset);
    put(out, e.size);
  }
  return out;
}

}  // namespace quantflow::apr
