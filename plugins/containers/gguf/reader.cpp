// GGUF v2/v3 reader: parses the header, metadata and tensor infos of a mapped file and hands
// out tensor bytes as views into the mapping. Everything read from the file is treated as
// hostile: every length and count is checked against the bytes that remain before use.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "byte_cursor.hpp"
#include "gguf_plugin.hpp"
#include "gguf_types.hpp"
#include "split.hpp"
#include "quantflow/mapped_file.hpp"
#include "quantflow/utf8.hpp"

namespace quantflow::gguf {

namespace {

constexpr uint64_t kHeaderBytes = 24;
// Smallest possible encodings, used to bound counts before anything is reserved.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;              // key length, 1-byte key, type, u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // empty name, n_dims, one dim, type, offset
// Deep nesting costs only 12 bytes per level; the limit keeps recursion off the stack's edge.
constexpr int kMaxArrayDepth = 64;

std::string legacy_name(uint32_t magic) {
  switch (magic) {
    case kMagicGgml:
      return "GGML";
    case kMagicGgmf:
      return "GGMF";
    case kMagicGgjt:
      return "GGJT";
  }
  return "";
}

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

class GgufReader final : public Reader {
 public:
  std::string container() const override { return kContainerName; }
  std::string version() const override { return std::to_string(version_); }
  const Metadata& metadata() const override { return metadata_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }

  Result<TensorData> read(size_t index) const override {
    if (index >= tensors_.size())
      return usage_error("tensor index " + std::to_string(index) + " is out of range (" +
                         std::to_string(tensors_.size()) + " tensors)");
    const TensorInfo& t = tensors_[index];
    // A checked copy, not a view into the mapping: see MappedFile::read.
    auto data = file_->read(data_offset_ + t.offset, t.n_bytes);
    if (!data.ok()) return data.take_status().with_tensor(t.name);
    return data;
  }

  // Drops the tensor's pages so that streaming a large model does not keep it resident.
  void release(size_t index) const override {
    if (index < tensors_.size()) file_->release(data_offset_ + tensors_[index].offset, tensors_[index].n_bytes);
  }

  std::vector<Property> properties() const override {
    return {{"alignment", MetaValue::make_u64(alignment_)},
            {"data_offset", MetaValue::make_u64(data_offset_)},
            {"metadata_entries", MetaValue::make_u64(metadata_.size())},
            {"tensor_info_bytes", MetaValue::make_u64(tensor_info_bytes_)}};
  }

  // Filled in by Parser, which is the only code that sees this class besides the host.
  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = kVersion;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  uint64_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  uint64_t tensor_info_bytes_ = 0;
};

class Parser {
 public:
  Parser(GgufReader& out, const CodecCatalog& catalog)
      : out_(out), catalog_(catalog), file_size_(out.file_->size()), cur_(out.file_->bytes()) {}

  Status parse() {
    QF_RETURN_IF_ERROR(parse_header());
    QF_RETURN_IF_ERROR(parse_metadata());
    QF_RETURN_IF_ERROR(parse_alignment());
    QF_RETURN_IF_ERROR(parse_tensor_infos());
    return check_data_layout();
  }

 private:
  Status truncated(const std::string& what) const {
    return bad_input("truncated file: it ends inside " + what + " (file size " + std::to_string(file_size_) +
                     " bytes)");
  }

  Status parse_header() {
    uint32_t magic = 0;
    if (!cur_.read(magic)) return bad_input("file too short to be GGUF (" + std::to_string(file_size_) + " bytes)");
    if (magic != kMagic) {
      const std::string legacy = describe_legacy_magic(reinterpret_cast<const unsigned char*>(out_.file_->data()),
                                                       static_cast<size_t>(std::min<uint64_t>(file_size_, 8)));
      if (!legacy.empty()) return bad_input(legacy);
      return bad_input("not a GGUF file (bad magic)");
    }
    uint32_t version = 0;
    if (!cur_.read(version))
      return bad_input("truncated GGUF header: the file has " + std::to_string(file_size_) +
                       " bytes, the header needs " + std::to_string(kHeaderBytes));
    if (version == 0) return bad_input("GGUF version 0 is invalid");
    // A big-endian writer stores the same small version number byte-swapped.
    if ((version & 0x0000FFFFu) == 0)
      return bad_input("big-endian GGUF file (version field reads " + std::to_string(version) +
                       " little-endian); quantflow reads little-endian GGUF only");
    // v2 has v3's layout (v3 only added the big-endian convention), so one parser reads
    // both; v1's 32-bit counts and lengths are refused like ggml does.
    if (version == 1)
      return bad_input(
          "GGUF v1 is not supported (its counts and lengths are 32-bit; ggml no longer reads it "
          "either); convert it with a current llama.cpp first");
    if (version < kMinVersion || version > kVersion)
      return bad_input("GGUF version " + std::to_string(version) + " is not supported; quantflow reads GGUF v" +
                       std::to_string(kMinVersion) + " and v" + std::to_string(kVersion));
    out_.version_ = version;
    if (file_size_ < kHeaderBytes)
      return bad_input("truncated GGUF header: the file has " + std::to_string(file_size_) +
                       " bytes, the header needs " + std::to_string(kHeaderBytes));
    cur_.read(n_tensors_);
    cur_.read(n_kv_);
    if (n_kv_ > cur_.remaining() / kMinKvBytes)
      return bad_input("header claims " + std::to_string(n_kv_) + " metadata entries, more than the remaining " +
                       std::to_string(cur_.remaining()) + " bytes can hold");
    return {};
  }

  Result<std::string_view> read_string(const std::string& what) {
    uint64_t length = 0;
    if (!cur_.read(length)) return truncated("the length of " + what);
    std::string_view text;
    if (!cur_.read_view(length, text))
      return bad_input(what + ": string of " + std::to_string(length) + " bytes runs past the end of the file");
    return text;
  }

  Status parse_metadata() {
    std::unordered_set<std::string_view> seen;
    seen.reserve(static_cast<size_t>(n_kv_));
    for (uint64_t i = 0; i < n_kv_; ++i) {
      QF_ASSIGN_OR_RETURN(std::string_view key, read_string("metadata key #" + std::to_string(i)));
      if (key.empty()) return bad_input("metadata entry #" + std::to_string(i) + " has an empty key");
      // Keys and tensor names go into messages, JSON and other containers' headers, all of
      // which need text; string values stay bytes, as ggml keeps them.
      if (invalid_utf8_offset(key) != std::string_view::npos)
        return bad_input("metadata entry #" + std::to_string(i) + ": the key is not valid UTF-8");
      if (!seen.insert(key).second) return bad_input("duplicate metadata key '" + std::string(key) + "'");
      const std::string where = "metadata '" + std::string(key) + "'";
      uint32_t type = 0;
      if (!cur_.read(type)) return truncated("the type of " + where);
      if (type >= kValueTypeCount) return bad_input(where + ": invalid value type " + std::to_string(type));
      QF_ASSIGN_OR_RETURN(MetaValue value, read_value(static_cast<ValueType>(type), where, 0));
      out_.metadata_.append(std::string(key), std::move(value));
    }
    return {};
  }

  template <typename T>
  Status read_scalar(T& out, const std::string& where) {
    if (!cur_.read(out)) return truncated("the value of " + where);
    return {};
  }

  Result<MetaValue> read_value(ValueType type, const std::string& where, int depth) {
    const MetaType meta = meta_type_of(type);
    switch (type) {
      case ValueType::u8:
        return read_int<uint8_t>(meta, where);
      case ValueType::i8:
        return read_int<int8_t>(meta, where);
      case ValueType::u16:
        return read_int<uint16_t>(meta, where);
      case ValueType::i16:
        return read_int<int16_t>(meta, where);
      case ValueType::u32:
        return read_int<uint32_t>(meta, where);
      case ValueType::i32:
        return read_int<int32_t>(meta, where);
      case ValueType::u64:
        return read_int<uint64_t>(meta, where);
      case ValueType::i64:
        return read_int<int64_t>(meta, where);
      case ValueType::boolean: {
        uint8_t b = 0;
        QF_RETURN_IF_ERROR(read_scalar(b, where));
        return MetaValue::make_bool(b != 0);
      }
      case ValueType::f32: {
        float f = 0;
        QF_RETURN_IF_ERROR(read_scalar(f, where));
        MetaValue v = MetaValue::make_f32(f);
        // Widening to double quiets a signalling NaN; the raw bits ride along so that the
        // writer can restore them exactly.
        if (std::isnan(f)) {
          uint32_t bits = 0;
          std::memcpy(&bits, &f, 4);
          v.integer = bits;
        }
        return v;
      }
      case ValueType::f64: {
        double d = 0;
        QF_RETURN_IF_ERROR(read_scalar(d, where));
        return MetaValue::make_f64(d);
      }
      case ValueType::string: {
        QF_ASSIGN_OR_RETURN(std::string_view text, read_string(where));
        return MetaValue::make_string(std::string(text));
      }
      case ValueType::array:
        return read_array(where, depth);
    }
    return internal_error(where + ": unhandled value type");
  }

  template <typename T>
  Result<MetaValue> read_int(MetaType meta, const std::string& where) {
    T v{};
    QF_RETURN_IF_ERROR(read_scalar(v, where));
    if constexpr (std::is_signed_v<T>)
      return MetaValue::make_signed(meta, static_cast<int64_t>(v));
    else
      return MetaValue::make_unsigned(meta, static_cast<uint64_t>(v));
  }

  Result<MetaValue> read_array(const std::string& where, int depth) {
    if (depth >= kMaxArrayDepth)
      return bad_input(where + ": arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
    uint32_t element_type = 0;
    uint64_t count = 0;
    if (!cur_.read(element_type)) return truncated("the array header of " + where);
    if (element_type >= kValueTypeCount)
      return bad_input(where + ": invalid array element type " + std::to_string(element_type));
    if (!cur_.read(count)) return truncated("the array header of " + where);
    const auto etype = static_cast<ValueType>(element_type);
    uint64_t min_size = fixed_value_size(etype);
    if (etype == ValueType::string) min_size = 8;
    if (etype == ValueType::array) min_size = 4 + 8;
    if (count > cur_.remaining() / min_size)
      return bad_input(where + ": array of " + std::to_string(count) + " elements runs past the end of the file");
    std::vector<MetaValue> elements;
    elements.reserve(static_cast<size_t>(count));
    for (uint64_t i = 0; i < count; ++i) {
      QF_ASSIGN_OR_RETURN(MetaValue v, read_value(etype, where, depth + 1));
      elements.push_back(std::move(v));
    }
    return MetaValue::make_array(meta_type_of(etype), std::move(elements));
  }

  Status parse_alignment() {
    const MetaValue* value = out_.metadata_.find(kAlignmentKey);
    if (value == nullptr) return {};
    if (value->type != MetaType::u32)
      return bad_input(std::string(kAlignmentKey) + " must be a u32, not " + meta_type_name(value->type));
    if (!is_power_of_two(value->integer))
      return bad_input(std::string(kAlignmentKey) + " must be a non-zero power of two, not " +
                       std::to_string(value->integer));
    out_.alignment_ = value->integer;
    return {};
  }

  Status parse_tensor_infos() {
    uint64_t n_tensors = n_tensors_;
    if (n_tensors > cur_.remaining() / kMinTensorInfoBytes)
      return bad_input("header claims " + std::to_string(n_tensors) + " tensors, more than the remaining " +
                       std::to_string(cur_.remaining()) + " bytes can hold");
    const uint64_t start = cur_.position();
    auto& tensors = out_.tensors_;
    tensors.reserve(static_cast<size_t>(n_tensors));
    std::unordered_set<std::string> names;
    names.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
      QF_ASSIGN_OR_RETURN(std::string_view name_view, read_string("the name of tensor info #" + std::to_string(i)));
      if (const size_t bad = invalid_utf8_offset(name_view); bad != std::string_view::npos)
        return bad_input("the name of tensor info #" + std::to_string(i) + " is not valid UTF-8 (byte " +
                         std::to_string(bad) + ")");
      std::string name(name_view);
      auto status = parse_tensor_info(name, names);
      if (!status.ok()) return std::move(status).with_tensor(name);
    }
    out_.tensor_info_bytes_ = cur_.position() - start;
    return {};
  }

  Status parse_tensor_info(const std::string& name, std::unordered_set<std::string>& names) {
    if (name.size() > kMaxNameBytes)
      return bad_input("name is " + std::to_string(name.size()) + " bytes long; GGUF allows at most " +
                       std::to_string(kMaxNameBytes));
    if (!names.insert(name).second) return bad_input("duplicate tensor name");
    uint32_t n_dims = 0;
    if (!cur_.read(n_dims)) return truncated("the tensor info");
    if (n_dims == 0 || n_dims > kMaxDims)
      return bad_input("n_dims is " + std::to_string(n_dims) + "; GGUF allows 1 to " + std::to_string(kMaxDims));
    uint64_t ne[kMaxDims] = {1, 1, 1, 1};
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      if (!cur_.read(ne[d])) return truncated("the tensor info");
      if (ne[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return bad_input("dimension " + std::to_string(d) + " is negative");
      if (__builtin_mul_overflow(elements, ne[d], &elements) ||
          elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return bad_input("element count overflows 64 bits");
    }
    uint32_t type_id = 0;
    uint64_t offset = 0;
    if (!cur_.read(type_id) || !cur_.read(offset)) return truncated("the tensor info");
    QF_ASSIGN_OR_RETURN(DType dtype, dtype_for_id(type_id, catalog_));
    if (!dtype.fits_row(ne[0]))
      return bad_input("row length " + std::to_string(ne[0]) + " is not a multiple of the " + dtype.name +
                       " block size " + std::to_string(dtype.block_elems));
    uint64_t n_bytes = ne[0] / dtype.block_elems;
    if (__builtin_mul_overflow(n_bytes, uint64_t{dtype.block_bytes}, &n_bytes))
      return bad_input("byte size overflows 64 bits");
    for (uint32_t d = 1; d < kMaxDims; ++d)
      if (__builtin_mul_overflow(n_bytes, ne[d], &n_bytes)) return bad_input("byte size overflows 64 bits");
    if (offset % out_.alignment_ != 0)
      return bad_input("data offset " + std::to_string(offset) + " is not a multiple of the alignment " +
                       std::to_string(out_.alignment_));

    TensorInfo info;
    info.name = name;
    info.dtype = std::move(dtype);
    info.shape.assign(std::make_reverse_iterator(ne + n_dims), std::make_reverse_iterator(ne));
    info.n_bytes = n_bytes;
    info.offset = offset;
    out_.tensors_.push_back(std::move(info));
    return {};
  }

  Status check_data_layout() {
    const uint64_t end_of_infos = cur_.position();
    const uint64_t alignment = out_.alignment_;
    uint64_t data_offset = end_of_infos + (alignment - end_of_infos % alignment) % alignment;
    out_.data_offset_ = data_offset;
    auto& tensors = out_.tensors_;
    for (const TensorInfo& t : tensors) {
      uint64_t begin = 0, end = 0;
      if (__builtin_add_overflow(data_offset, t.offset, &begin) || __builtin_add_overflow(begin, t.n_bytes, &end) ||
          end > file_size_)
        return bad_input("truncated tensor data: " + std::to_string(t.n_bytes) + " bytes at data offset " +
                         std::to_string(t.offset) + " run past the end of the file (" + std::to_string(file_size_) +
                         " bytes)")
            .with_tensor(t.name);
    }
    // Any aligned layout is accepted, not only ggml's canonical one, but no two tensors may
    // share bytes: a copy would otherwise silently duplicate or corrupt data.
    std::vector<size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
    const TensorInfo* previous = nullptr;
    for (size_t i : order) {
      const TensorInfo& t = tensors[i];
      if (t.n_bytes == 0) continue;
      if (previous != nullptr && previous->offset + previous->n_bytes > t.offset)
        return bad_input("data overlaps the data of tensor '" + previous->name + "'").with_tensor(t.name);
      previous = &t;
    }
    return {};
  }

  GgufReader& out_;
  const CodecCatalog& catalog_;
  uint64_t file_size_;
  ByteCursor cur_;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
};

}  // namespace

std::string describe_legacy_magic(const unsigned char* head, size_t n_head) {
  if (head == nullptr || n_head < 4) return "";
  uint32_t magic = 0;
  std::memcpy(&magic, head, 4);
  const std::string name = legacy_name(magic);
  if (name.empty()) return "";
  std::string what = name;
  if (magic == kMagicGgml) {
    what += ", unversioned";
  } else if (n_head >= 8) {
    uint32_t version = 0;
    std::memcpy(&version, head + 4, 4);
    what += " v" + std::to_string(version);
  }
  return "pre-GGUF ggml file (" + what + "); convert it with a current llama.cpp first";
}

Result<std::unique_ptr<Reader>> open_file_reader(const std::string& path, const CodecCatalog& catalog) {
  QF_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  auto reader = std::make_unique<GgufReader>();
  reader->file_ = std::move(file);
  Parser parser(*reader, catalog);
  QF_RETURN_IF_ERROR(parser.parse());
  return std::unique_ptr<Reader>(std::move(reader));
}

Result<std::unique_ptr<Reader>> open_reader(const std::string& path, const CodecCatalog& catalog) {
  QF_ASSIGN_OR_RETURN(auto first, open_file_reader(path, catalog));
  return open_split(std::move(first), path,
                    [&catalog](const std::string& shard) { return open_file_reader(shard, catalog); });
}

}  // namespace quantflow::gguf
