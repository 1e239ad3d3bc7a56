// Reading a .tpk file: the header is parsed in place from the mapped file, every length and
// offset checked against the file; tensor bytes are read lazily, one tensor at a time.
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "quantflow/mapped_file.hpp"
#include "quantflow/utf8.hpp"
#include "tinypack.hpp"

namespace tinypack {
namespace {

using namespace quantflow;

// Little-endian fields from the front of the file; a read past its end fails.
class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, size_t position) : bytes_(bytes), position_(position) {}

  bool number(uint64_t& value, size_t n_bytes) {
    if (bytes_.size() - position_ < n_bytes) return false;
    value = 0;
    for (size_t i = n_bytes; i-- > 0;) value = (value << 8) | std::to_integer<uint64_t>(bytes_[position_ + i]);
    position_ += n_bytes;
    return true;
  }

  bool text(std::string& out) {
    uint64_t length = 0;
    if (!number(length, 2) || bytes_.size() - position_ < length) return false;
    out.assign(reinterpret_cast<const char*>(bytes_.data() + position_), static_cast<size_t>(length));
    position_ += static_cast<size_t>(length);
    return true;
  }

  size_t position() const { return position_; }

 private:
  std::span<const std::byte> bytes_;
  size_t position_;
};

class FileReader final : public Reader {
 public:
  static Result<std::unique_ptr<Reader>> open(const std::string& path, const CodecCatalog& catalog) {
    QF_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
    std::unique_ptr<FileReader> reader(new FileReader(std::move(file)));
    QF_RETURN_IF_ERROR(reader->parse(catalog).with_file(path));
    return std::unique_ptr<Reader>(std::move(reader));
  }

  std::string container() const override { return "tinypack"; }
  std::string version() const override { return std::to_string(kVersion); }
  const Metadata& metadata() const override { return metadata_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }

  Result<TensorData> read(size_t index) const override {
    if (index >= tensors_.size()) return internal_error("no tensor " + std::to_string(index));
    return file_->read(tensors_[index].offset, tensors_[index].n_bytes);
  }

  void release(size_t index) const override {
    if (index < tensors_.size()) file_->release(tensors_[index].offset, tensors_[index].n_bytes);
  }

  std::vector<Property> properties() const override {
    return {{"data_start", MetaValue::make_u64(data_start_)}, {"alignment", MetaValue::make_u64(kAlignment)}};
  }

 private:
  explicit FileReader(std::shared_ptr<MappedFile> file) : file_(std::move(file)) {}

  Status parse(const CodecCatalog& catalog) {
    if (file_->size() < kFixedHeaderBytes || std::memcmp(file_->data(), kMagic, sizeof kMagic) != 0)
      return bad_input("not a tinypack file (no TPAK magic)");
    Cursor in(file_->bytes(), sizeof kMagic);
    uint64_t version = 0, count = 0;
    // The fixed header is there (checked above), so these reads succeed.
    (void)(in.number(version, 4) && in.number(count, 4) && in.number(data_start_, 4));
    if (version != kVersion)
      return bad_input("tinypack version " + std::to_string(version) + " (this plugin reads version " +
                       std::to_string(kVersion) + ")");
    if (data_start_ % kAlignment != 0 || data_start_ > file_->size())
      return bad_input("the data start " + std::to_string(data_start_) + " is unaligned or past the end");
    for (uint64_t i = 0; i < count; ++i) {
      TensorInfo t;
      std::string encoding;
      uint64_t rank = 0;
      if (!in.text(t.name) || !in.text(encoding) || !in.number(rank, 1))
        return bad_input("tensor record " + std::to_string(i) + " is truncated");
      t.shape.resize(static_cast<size_t>(rank));
      bool complete = true;
      for (uint64_t& dim : t.shape) complete = complete && in.number(dim, 8);
      if (!complete || !in.number(t.offset, 8) || !in.number(t.n_bytes, 8))
        return bad_input("tensor record " + std::to_string(i) + " is truncated");
      if (invalid_utf8_offset(t.name) != std::string_view::npos)
        return bad_input("the name of tensor record " + std::to_string(i) + " is not UTF-8");
      QF_RETURN_IF_ERROR(resolve(t, encoding, catalog).with_tensor(t.name));
      tensors_.push_back(std::move(t));
    }
    if (in.position() > data_start_) return bad_input("the tensor records run past the data start");
    return {};
  }

  // The encoding's geometry from the catalog, and the tensor's size and place checked with it.
  Status resolve(TensorInfo& t, const std::string& encoding, const CodecCatalog& catalog) const {
    const CodecDescriptor* codec = catalog.find(canonical_dtype_name(encoding));
    if (codec == nullptr) return unsupported("encoding '" + encoding + "' is provided by no loaded codec plugin");
    t.dtype = dtype_of(*codec);
    uint64_t elements = 1;
    for (uint64_t dim : t.shape)
      if (__builtin_mul_overflow(elements, dim, &elements)) return bad_input("the shape's element count overflows");
    if (!t.dtype.fits_row(row_length(t.shape)))
      return bad_input("the row length " + std::to_string(row_length(t.shape)) + " is not a multiple of " + encoding +
                       "'s block of " + std::to_string(t.dtype.block_elems));
    const uint64_t blocks = elements / t.dtype.block_elems;
    if (blocks > std::numeric_limits<uint64_t>::max() / t.dtype.block_bytes || t.dtype.bytes_for(elements) != t.n_bytes)
      return bad_input(std::to_string(t.n_bytes) + " data bytes, but " + encoding + " of shape " +
                       shape_to_string(t.shape) + " needs " + std::to_string(blocks * t.dtype.block_bytes));
    if (t.offset < data_start_ || t.offset % kAlignment != 0 || !file_->contains(t.offset, t.n_bytes))
      return bad_input("the data at offset " + std::to_string(t.offset) + " is unaligned or outside the file");
    return {};
  }

  std::shared_ptr<MappedFile> file_;
  Metadata metadata_;  // tinypack stores none
  std::vector<TensorInfo> tensors_;
  uint64_t data_start_ = 0;
};

}  // namespace

Result<std::unique_ptr<Reader>> open_reader(const std::string& path, const CodecCatalog& catalog) {
  return FileReader::open(path, catalog);
}

}  // namespace tinypack
