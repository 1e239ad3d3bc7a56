// The GGUF Reader handed to the host; Parser fills in its fields from the mapped file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gguf_types.hpp"
#include "quantflow/container.hpp"
#include "quantflow/input_file.hpp"

namespace quantflow::gguf {

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
    // A checked copy, not a view into the mapping (see MappedFile::read), or decoded bytes.
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
  std::shared_ptr<InputFile> file_;
  uint32_t version_ = kVersion;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  uint64_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  uint64_t tensor_info_bytes_ = 0;
};

}  // namespace quantflow::gguf
