// Reader for one APR v2 file (§10's checklist): header, metadata, index and every tensor's
// extent are checked when it opens, and so is the footer CRC; tensor bytes are read lazily
// (a zstd-compressed tensor is decoded as it is read, so the host sees raw bytes only).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "format/header.hpp"
#include "quantflow/container.hpp"
#include "quantflow/input_file.hpp"

namespace quantflow::apr {

class FileReader final : public Reader {
 public:
  // Errors carry the path.
  static Result<std::unique_ptr<FileReader>> open(const std::string& path, const CodecCatalog& catalog);
  static Result<std::unique_ptr<FileReader>> open(std::shared_ptr<InputFile> file, const CodecCatalog& catalog);

  std::string container() const override { return kContainerName; }
  std::string version() const override;
  const Metadata& metadata() const override { return metadata_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  Result<TensorData> read(size_t index) const override;
  void release(size_t index) const override;
  std::vector<Property> properties() const override;

  const std::string& path() const { return file_->path(); }

 private:
  FileReader() = default;
  Status parse(const CodecCatalog& catalog);
  Status check_tensors(const CodecCatalog& catalog);
  Result<TensorData> read_tensor(size_t index) const;

  std::shared_ptr<InputFile> file_;
  Header header_;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;  // data order; offset relative to data_offset
  std::vector<uint64_t> stored_;     // bytes stored per tensor (a zstd frame's length when compressed)
  uint32_t footer_ = 0;
};

}  // namespace quantflow::apr
