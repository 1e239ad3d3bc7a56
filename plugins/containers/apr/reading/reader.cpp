#include "reading/reader.hpp"

#include <algorithm>
#include <cstring>

#include "reading/compression.hpp"
#include "format/dtypes.hpp"
#include "format/index.hpp"
#include "reading/input_bytes.hpp"
#include "metadata/metadata_codec.hpp"
#include "reading/v1.hpp"

namespace quantflow::apr {

namespace {

bool starts_with(std::span<const std::byte> head, const unsigned char (&magic)[4]) {
  return head.size() >= 4 && std::memcmp(head.data(), magic, 4) == 0;
}

// A section that a compressed input's decoded head does not reach.
Status beyond_head(const InputFile& file, const std::string& what) {
  return bad_input("the " + what + " runs past the first " + std::to_string(kCompressedHeadLimit >> 20) +
                   " MiB that are decoded for headers of a compressed input (" + std::to_string(file.size()) +
                   " bytes decoded in all); decompress the file first");
}

}  // namespace

Result<std::unique_ptr<FileReader>> FileReader::open(const std::string& path, const CodecCatalog& catalog) {
  QF_ASSIGN_OR_RETURN(auto file, catalog.open_input(path));
  return open(std::move(file), catalog);
}

Result<std::unique_ptr<FileReader>> FileReader::open(std::shared_ptr<InputFile> file, const CodecCatalog& catalog) {
  std::unique_ptr<FileReader> r(new FileReader());
  r->file_ = std::move(file);
  if (Status s = r->parse(catalog); !s.ok()) return std::move(s).with_file(r->path());
  return r;
}

Status FileReader::parse(const CodecCatalog& catalog) {
  const InputFile& file = *file_;
  const uint64_t size = file.size();
  const auto head = file.head();
  if (starts_with(head, kMagicV1)) return refuse_v1(file);
  if (!starts_with(head, kMagicV2) && !starts_with(head, kMagicLegacyV2))
    return bad_input(size < 4 ? "file is " + std::to_string(size) + " bytes, too short for an APR header"
                              : std::string("not an APR file (the magic is not APR\\0)"));
  if (head.size() > 4 && static_cast<uint8_t>(head[4]) == 1 && starts_with(head, kMagicV2))
    return refuse_version1(file);
  if (size < kHeaderBytes + kFooterBytes)
    return bad_input("truncated APR file: " + std::to_string(size) + " bytes, fewer than the 64-byte header and " +
                     "4-byte footer need");
  if (!file.in_head(0, kHeaderBytes)) return beyond_head(file, "header");
  const auto header_bytes = file.slice(0, kHeaderBytes).first<kHeaderBytes>();
  header_ = decode_header(header_bytes);
  QF_RETURN_IF_ERROR(check_header(header_, header_bytes, size));

  if (!file.in_head(header_.metadata_offset, header_.metadata_size)) return beyond_head(file, "metadata");
  const auto meta = file.slice(header_.metadata_offset, header_.metadata_size);
  QF_ASSIGN_OR_RETURN(metadata_,
                      decode_metadata(std::string_view(reinterpret_cast<const char*>(meta.data()), meta.size())));

  const uint64_t index_bytes = header_.data_offset - header_.tensor_index_offset;
  if (!file.in_head(header_.tensor_index_offset, index_bytes)) return beyond_head(file, "tensor index");
  QF_RETURN_IF_ERROR(check_tensors(catalog));

  QF_ASSIGN_OR_RETURN(footer_, u32_at(file, size - kFooterBytes));
  QF_ASSIGN_OR_RETURN(const uint32_t computed, crc_of_prefix(file, size - kFooterBytes));
  if (computed != footer_)
    return bad_input("footer checksum mismatch: stored " + hex32(footer_) + ", computed " + hex32(computed));
  return {};
}

Status FileReader::check_tensors(const CodecCatalog& catalog) {
  const InputFile& file = *file_;
  const uint64_t end = file.size() - kFooterBytes;
  const bool zstd = header_.flags & kZstdCompressed, lz4 = header_.flags & kLz4Compressed;
  QF_ASSIGN_OR_RETURN(auto entries, parse_index(file.slice(header_.tensor_index_offset,
                                                           header_.data_offset - header_.tensor_index_offset),
                                                header_.tensor_count));
  tensors_.reserve(entries.size());
  stored_.reserve(entries.size());
  for (auto& e : entries) {
    const auto fail = [&](std::string message) { return bad_input(std::move(message)).with_tensor(e.name); };
    auto resolved = resolve_id(e.dtype, catalog);
    if (!resolved.ok()) return resolved.take_status().with_tensor(e.name);
    const DType& dtype = resolved->dtype;
    const std::string described = dtype.name + " " + shape_to_string(e.dims);
    const auto raw = checked_bytes(dtype, e.dims);
    if (!raw) return fail("shape " + shape_to_string(e.dims) + " of " + dtype.name + " overflows 64 bits");
    if (!dtype.fits_row(e.dims.empty() ? 1 : e.dims.back()))
      return fail("shape " + shape_to_string(e.dims) + ": rows of " + dtype.name + " must be a multiple of " +
                  std::to_string(dtype.block_elems) + " elements");
    if (!zstd && e.size != *raw) {
      if (lz4)
        return fail("the LZ4_COMPRESSED flag is set and the tensor stores " + std::to_string(e.size) + " bytes where " +
                    described + " needs " + std::to_string(*raw) +
                    ": LZ4-compressed APR tensors have no defined encoding, so the file cannot be read");
      return fail("stores " + std::to_string(e.size) + " bytes, but " + described + " needs " + std::to_string(*raw));
    }
    uint64_t begin = 0, stop = 0;
    if (__builtin_add_overflow(header_.data_offset, e.offset, &begin) || __builtin_add_overflow(begin, e.size, &stop) ||
        stop > end)
      return fail("extends past end of file: " + std::to_string(e.size) + " bytes at data offset " +
                  std::to_string(e.offset) + " (data ends at byte " + std::to_string(end) + ")");
    if (begin % kAlignment != 0)
      return fail("data at file offset " + std::to_string(begin) + " is not aligned to 64 bytes");
    TensorInfo info;
    info.name = std::move(e.name);
    info.dtype = dtype;
    info.shape = std::move(e.dims);
    info.n_bytes = *raw;
    info.offset = e.offset;
    tensors_.push_back(std::move(info));
    stored_.push_back(e.size);
  }
  // Listed in data order: the order the writer was given (aprender's in-memory writer stores
  // data in name order, so its files list by name either way).
  std::vector<size_t> order(tensors_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
  std::vector<TensorInfo> tensors;
  std::vector<uint64_t> stored;
  for (size_t i : order) {
    tensors.push_back(std::move(tensors_[i]));
    stored.push_back(stored_[i]);
  }
  tensors_ = std::move(tensors);
  stored_ = std::move(stored);
  return {};
}

std::string FileReader::version() const {
  return std::to_string(header_.version_major) + "." + std::to_string(header_.version_minor);
}

Result<TensorData> FileReader::read(size_t index) const {
  try {
    return read_tensor(index);
  } catch (const std::exception& e) {  // allocation failures must not escape the plugin
    return internal_error(std::string("APR reader failed: ") + e.what()).with_file(path());
  }
}

Result<TensorData> FileReader::read_tensor(size_t index) const {
  if (index >= tensors_.size())
    return internal_error("tensor index " + std::to_string(index) + " out of range").with_file(path());
  const TensorInfo& t = tensors_[index];
  // A checked copy (or decoded bytes of a compressed input), not a view into the mapping.
  auto data = file_->read(header_.data_offset + t.offset, stored_[index]);
  if (!data.ok()) return data.take_status().with_tensor(t.name);
  if (!(header_.flags & kZstdCompressed)) return data;
  auto raw = decode_frame(data->bytes, t.n_bytes);
  if (!raw.ok()) return raw.take_status().with_tensor(t.name).with_file(path());
  return raw;
}

void FileReader::release(size_t index) const {
  if (index < tensors_.size()) file_->release(header_.data_offset + tensors_[index].offset, stored_[index]);
}

std::vector<Property> FileReader::properties() const {
  std::string compression = "none";
  if (header_.flags & kZstdCompressed) compression = "zstd (one frame per tensor)";
  if (header_.flags & kLz4Compressed) compression = "none (LZ4_COMPRESSED is set, but the data is raw)";
  std::vector<Property> p = {
      {"flags", MetaValue::make_string(flag_names(header_.flags))},
      {"metadata_bytes", MetaValue::make_u64(header_.metadata_size)},
      {"tensor_index_offset", MetaValue::make_u64(header_.tensor_index_offset)},
      {"data_offset", MetaValue::make_u64(header_.data_offset)},
      {"header_checksum", MetaValue::make_string(hex32(header_.checksum) + " (ok)")},
      {"footer_checksum", MetaValue::make_string(hex32(footer_) + " (ok)")},
      {"tensor_compression", MetaValue::make_string(compression)},
  };
  if (header_.legacy_magic)
    p.push_back({"magic", MetaValue::make_string("APR2 (legacy spelling of APR\\0, read but never written)")});
  return p;
}

}  // namespace quantflow::apr
