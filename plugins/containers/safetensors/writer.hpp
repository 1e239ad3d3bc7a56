// Writer producing the reference implementation's exact bytes (spec §5).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "quantflow/container.hpp"

namespace quantflow::safetensors {

class FileWriter final : public Writer {
 public:
  // The catalog names the safetensors spelling of codec-backed encodings; it outlives the writer.
  FileWriter(OutputSink& sink, const CodecCatalog& catalog) : sink_(sink), catalog_(catalog) {}

  Result<std::vector<size_t>> begin(const Metadata& metadata, const std::vector<TensorInfo>& tensors) override;
  Status write_tensor(size_t index, std::span<const std::byte> bytes) override;
  Status finish() override;

 private:
  Result<std::vector<size_t>> begin_unchecked(const Metadata& metadata, const std::vector<TensorInfo>& tensors);

  OutputSink& sink_;
  const CodecCatalog& catalog_;
  std::vector<TensorInfo> tensors_;
  std::vector<size_t> order_;
  size_t next_ = 0;  // position in order_ of the next expected write_tensor
  bool begun_ = false;
};

// Builds the complete header (length prefix excluded, padding included) and the layout
// order; exposed separately so tests and tools can check a header without writing data.
struct PlannedHeader {
  std::string json;  // padded with spaces to a multiple of 8
  std::vector<size_t> order;
};
Result<PlannedHeader> plan_header(const Metadata& metadata, const std::vector<TensorInfo>& tensors,
                                  const CodecCatalog& catalog);

}  // namespace quantflow::safetensors
