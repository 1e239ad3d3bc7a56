// The APR v2 writer. Tensors are stored in the order given (layout.hpp). Without
// compression the header, metadata and index go out in begin() and tensors stream straight
// to the sink; with `compress_tensors=zstd` each tensor becomes one zstd frame in a scratch
// file beside the output, and finish() writes the prefix (now that sizes are known) and
// copies the frames after it. The footer CRC covers every byte before it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "reading/compression.hpp"
#include "writing/layout.hpp"
#include "quantflow/container.hpp"
#include "writing/spill_file.hpp"

namespace quantflow::apr {

inline constexpr const char* kCompressOption = "compress_tensors";

class FileWriter final : public Writer {
 public:
  FileWriter(OutputSink& sink, const CodecCatalog& catalog, CompressionChoice compression)
      : sink_(sink), catalog_(catalog), compression_(compression) {}

  Result<std::vector<size_t>> begin(const Metadata& metadata, const std::vector<TensorInfo>& tensors) override;
  Status write_tensor(size_t index, std::span<const std::byte> bytes) override;
  Status finish() override;

 private:
  enum class State { fresh, writing, finished, failed };

  Result<std::vector<size_t>> start(const Metadata& metadata, const std::vector<TensorInfo>& tensors);
  Status store(size_t index, std::span<const std::byte> bytes);
  Status complete();
  // Every byte of the file passes here, so the footer CRC covers it.
  Status emit(std::span<const std::byte> bytes);
  Status emit_zeros(uint64_t n);

  OutputSink& sink_;
  const CodecCatalog& catalog_;
  CompressionChoice compression_;
  State state_ = State::fresh;
  Layout layout_;
  std::vector<std::string> names_;  // per tensor index, for messages
  size_t next_ = 0;                 // the next tensor expected
  uint32_t crc_ = 0;
  std::unique_ptr<SpillFile> spill_;
  std::unique_ptr<FrameEncoder> encoder_;
  std::vector<uint64_t> spilled_at_;  // per tensor: offset of its frame in spill_
};

}  // namespace quantflow::apr
