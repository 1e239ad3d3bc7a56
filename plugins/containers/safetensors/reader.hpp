// Reader for one .safetensors file: mapped, lazy, zero-copy.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "quantflow/container.hpp"
#include "quantflow/input_file.hpp"

namespace quantflow::safetensors {

inline constexpr const char* kContainerName = "safetensors";

class FileReader final : public Reader {
 public:
  // Errors carry the path.
  static Result<std::unique_ptr<FileReader>> open(const std::string& path, const CodecCatalog& catalog);

  std::string container() const override { return kContainerName; }
  std::string version() const override { return ""; }
  const Metadata& metadata() const override { return metadata_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  Result<TensorData> read(size_t index) const override;
  void release(size_t index) const override;
  std::vector<Property> properties() const override;

  const std::string& path() const { return file_->path(); }
  uint64_t buffer_length() const { return buffer_length_; }

 private:
  FileReader() = default;

  std::shared_ptr<InputFile> file_;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;  // offset: relative to the data buffer, as in the header
  uint64_t header_length_ = 0;
  uint64_t data_start_ = 0;
  uint64_t buffer_length_ = 0;
  size_t stored_as_bytes_ = 0;  // tensors restored from the quantflow.tensor convention
  bool typed_metadata_ = false;
};

}  // namespace quantflow::safetensors
