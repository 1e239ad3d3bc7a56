// Writing a .tpk file: the header, computed in full from the declared tensors, then each
// tensor's bytes at its aligned offset.
#include <exception>
#include <limits>
#include <numeric>
#include <vector>

#include "tinypack.hpp"

namespace tinypack {
namespace {

using namespace quantflow;

void put_le(std::vector<std::byte>& out, uint64_t value, int n_bytes) {
  for (int i = 0; i < n_bytes; ++i) out.push_back(static_cast<std::byte>(value >> (8 * i)));
}

void put_text(std::vector<std::byte>& out, const std::string& text) {
  put_le(out, text.size(), 2);
  for (char c : text) out.push_back(static_cast<std::byte>(c));
}

Status write_zeros(OutputSink& sink, uint64_t n) {
  const std::vector<std::byte> zeros(static_cast<size_t>(n));
  return sink.write(zeros);
}

class FileWriter final : public Writer {
 public:
  FileWriter(OutputSink& sink, const CodecCatalog& catalog) : sink_(sink), catalog_(catalog) {}

  Result<std::vector<size_t>> begin(const Metadata& /*metadata: not stored*/,
                                    const std::vector<TensorInfo>& tensors) override {
    try {
      return begin_file(tensors);
    } catch (const std::exception& e) {
      return internal_error(std::string("tinypack writer failed: ") + e.what());
    }
  }

  Status write_tensor(size_t index, std::span<const std::byte> bytes) override {
    if (index != next_ || index >= offsets_.size() || bytes.size() != sizes_[index])
      return internal_error("tensor data arrived out of the declared order or size");
    QF_RETURN_IF_ERROR(write_zeros(sink_, offsets_[index] - sink_.position()));
    QF_RETURN_IF_ERROR(sink_.write(bytes));
    ++next_;
    return {};
  }

  Status finish() override {
    if (next_ != offsets_.size()) return internal_error("the file was finished before every tensor was written");
    return {};
  }

 private:
  static uint64_t record_bytes(const TensorInfo& t) {
    return 2 + t.name.size() + 2 + t.dtype.name.size() + 1 + 8 * t.shape.size() + 8 + 8;
  }

  Result<std::vector<size_t>> begin_file(const std::vector<TensorInfo>& tensors) {
    uint64_t header_bytes = kFixedHeaderBytes;
    for (const auto& t : tensors) {
      // The reader takes the geometry from the catalog, so only encodings it knows are stored.
      if (catalog_.find(t.dtype.name) == nullptr)
        return unsupported("encoding '" + t.dtype.name + "' is provided by no loaded codec plugin").with_tensor(t.name);
      if (t.name.size() > std::numeric_limits<uint16_t>::max() || t.shape.size() > std::numeric_limits<uint8_t>::max())
        return unsupported("the name or rank is too large for tinypack").with_tensor(t.name);
      header_bytes += record_bytes(t);
    }
    const uint64_t data_start = align_up(header_bytes);
    if (tensors.size() > std::numeric_limits<uint32_t>::max() || data_start > std::numeric_limits<uint32_t>::max())
      return unsupported("too many tensors for tinypack");

    std::vector<std::byte> header;
    for (char c : kMagic) header.push_back(static_cast<std::byte>(c));
    put_le(header, kVersion, 4);
    put_le(header, tensors.size(), 4);
    put_le(header, data_start, 4);
    uint64_t offset = data_start;
    for (const auto& t : tensors) {
      put_text(header, t.name);
      put_text(header, t.dtype.name);
      put_le(header, t.shape.size(), 1);
      for (uint64_t dim : t.shape) put_le(header, dim, 8);
      put_le(header, offset, 8);
      put_le(header, t.n_bytes, 8);
      offsets_.push_back(offset);
      sizes_.push_back(t.n_bytes);
      offset = align_up(offset + t.n_bytes);
    }
    header.resize(static_cast<size_t>(data_start));  // zero bytes up to the data start
    QF_RETURN_IF_ERROR(sink_.write(header));
    std::vector<size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), size_t{0});  // file order is the declared order
    return order;
  }

  OutputSink& sink_;
  const CodecCatalog& catalog_;
  std::vector<uint64_t> offsets_, sizes_;
  size_t next_ = 0;
};

}  // namespace

Result<std::unique_ptr<Writer>> create_writer(OutputSink& sink, const CodecCatalog& catalog) {
  return std::unique_ptr<Writer>(new FileWriter(sink, catalog));
}

}  // namespace tinypack
