#include "reader.hpp"

#include <unordered_map>

#include "conventions.hpp"
#include "dtypes.hpp"
#include "header.hpp"

namespace quantflow::safetensors {

namespace {

// The convention stores only name and geometry; the kind comes from whoever knows the type.
DTypeKind kind_for(const DType& dtype, const CodecCatalog& catalog) {
  if (const CodecDescriptor* codec = catalog.find(dtype.name);
      codec != nullptr && codec->block_elems == dtype.block_elems && codec->block_bytes == dtype.block_bytes)
    return static_cast<DTypeKind>(codec->kind);
  if (const DTypeEntry* entry = find_storage_only(dtype)) return entry->kind;
  return DTypeKind::quantized;
}

}  // namespace

Result<std::unique_ptr<FileReader>> FileReader::open(const std::string& path, const CodecCatalog& catalog) {
  QF_ASSIGN_OR_RETURN(auto file, catalog.open_input(path));
  auto parsed = parse_header(file->head(), file->size(), catalog);
  if (!parsed.ok()) return parsed.take_status().with_file(path);
  ParsedHeader& h = parsed.value();

  std::unique_ptr<FileReader> r(new FileReader());
  r->file_ = std::move(file);
  r->header_length_ = h.header_length;
  r->data_start_ = h.data_start;
  r->buffer_length_ = h.buffer_length;

  std::unordered_map<std::string, size_t> by_name;
  r->tensors_.reserve(h.tensors.size());
  for (auto& t : h.tensors) {
    by_name.emplace(t.name, r->tensors_.size());
    TensorInfo info;
    info.name = std::move(t.name);
    info.dtype = std::move(t.dtype);
    info.shape = std::move(t.shape);
    info.n_bytes = t.end - t.begin;
    info.offset = t.begin;
    r->tensors_.push_back(std::move(info));
  }

  // Split the reserved convention keys from the plain metadata.
  std::map<std::string, std::string> plain;
  const std::string* typed = nullptr;
  const std::string* order = nullptr;
  for (const auto& [key, value] : h.metadata) {
    if (key == kTypedMetadataKey) {
      typed = &value;
    } else if (key == kTensorOrderKey) {
      order = &value;
    } else if (key.starts_with(kTensorKeyPrefix)) {
      const std::string name = key.substr(kTensorKeyPrefix.size());
      const auto it = by_name.find(name);
      if (it == by_name.end())
        return bad_input("__metadata__ key '" + key + "' describes a tensor that is not in the file")
            .with_tensor(name)
            .with_file(path);
      TensorInfo& info = r->tensors_[it->second];
      if (info.dtype.name != "u8" || info.shape.size() != 1)
        return bad_input("stored as " + info.dtype.name + " " + shape_to_string(info.shape) + ", but '" + key +
                         "' requires U8 [n_bytes]")
            .with_tensor(name)
            .with_file(path);
      auto logical = decode_tensor_info(value, info.n_bytes);
      if (!logical.ok()) return logical.take_status().with_tensor(name).with_file(path);
      info.dtype = logical->dtype;
      info.dtype.kind = kind_for(info.dtype, catalog);
      info.shape = std::move(logical->shape);
      ++r->stored_as_bytes_;
    } else {
      plain.emplace(key, value);
    }
  }
  if (order != nullptr) {
    auto names = decode_tensor_order(*order);
    if (!names.ok()) return names.take_status().with_file(path);
    if (names->size() != r->tensors_.size())
      return bad_input(std::string(kTensorOrderKey) + " lists " + std::to_string(names->size()) +
                       " tensors, the file has " + std::to_string(r->tensors_.size()))
          .with_file(path);
    std::vector<TensorInfo> ordered;
    ordered.reserve(names->size());
    std::vector<bool> taken(r->tensors_.size(), false);
    for (const auto& name : *names) {
      const auto it = by_name.find(name);
      if (it == by_name.end() || taken[it->second])
        return bad_input(std::string(kTensorOrderKey) + " names a tensor that is missing or listed twice")
            .with_tensor(name)
            .with_file(path);
      taken[it->second] = true;
      ordered.push_back(std::move(r->tensors_[it->second]));
    }
    r->tensors_ = std::move(ordered);
  }
  auto metadata = decode_metadata(typed, plain);
  if (!metadata.ok()) return metadata.take_status().with_file(path);
  r->metadata_ = std::move(metadata).value();
  r->typed_metadata_ = typed != nullptr;
  return r;
}

Result<TensorData> FileReader::read(size_t index) const {
  if (index >= tensors_.size())
    return internal_error("tensor index " + std::to_string(index) + " out of range").with_file(path());
  const TensorInfo& t = tensors_[index];
  // A checked copy, not a view into the mapping (see MappedFile::read), or decoded bytes.
  auto data = file_->read(data_start_ + t.offset, t.n_bytes);
  if (!data.ok()) return data.take_status().with_tensor(t.name);
  return data;
}

void FileReader::release(size_t index) const {
  if (index < tensors_.size()) file_->release(data_start_ + tensors_[index].offset, tensors_[index].n_bytes);
}

std::vector<Property> FileReader::properties() const {
  std::vector<Property> p = {
      {"header_length", MetaValue::make_u64(header_length_)},
      {"data_offset", MetaValue::make_u64(data_start_)},
      {"data_aligned_to_8", MetaValue::make_bool(data_start_ % 8 == 0)},
  };
  if (typed_metadata_) p.push_back({"typed_metadata", MetaValue::make_string(std::string(kTypedMetadataKey))});
  if (stored_as_bytes_ > 0) p.push_back({"tensors_stored_as_u8_bytes", MetaValue::make_u64(stored_as_bytes_)});
  return p;
}

}  // namespace quantflow::safetensors
