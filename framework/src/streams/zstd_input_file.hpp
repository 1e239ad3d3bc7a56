// The InputFile of a zstd-compressed model file. The compressed bytes are mapped; the first
// kCompressedHeadLimit decoded bytes are kept for header parsing; tensor reads are decoded
// forward from where the last one stopped (a read behind that point starts the stream again),
// so memory holds one tensor and zstd's window, never the whole file. Readers that take
// tensors in file order, as conversions do, decode the file once.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "quantflow/input_file.hpp"
#include "quantflow/mapped_file.hpp"

struct ZSTD_DCtx_s;

namespace quantflow::streams {

class ZstdInputFile final : public InputFile {
 public:
  // `compressed` holds a zstd stream (one frame or several, skippable frames allowed).
  static Result<std::shared_ptr<ZstdInputFile>> open(std::shared_ptr<MappedFile> compressed);
  ~ZstdInputFile() override;
  // The first `n` decoded bytes (fewer when the stream is shorter), for probing a file's format.
  static Result<std::vector<std::byte>> decode_prefix(const MappedFile& compressed, size_t n);

  const std::string& path() const override { return compressed_->path(); }
  uint64_t size() const override { return size_; }
  std::span<const std::byte> head() const override { return {head_.get(), static_cast<size_t>(head_size_)}; }
  Result<TensorData> read(uint64_t offset, uint64_t length) const override;
  void release(uint64_t, uint64_t) const override {}
  std::string compression() const override { return "zstd"; }

  // How many times decoding started again at a frame (for tests).
  uint64_t restarts() const { return restarts_; }

  struct Frame {
    uint64_t compressed = 0;  // where the frame starts in the file
    uint64_t decoded = 0;     // where its bytes start in the decoded stream
  };
  struct FrameIndex {
    std::vector<Frame> frames;  // every frame whose decoded start is known, in order
    bool sized = true;          // every frame records its decoded size
    uint64_t total = 0;         // the decoded size when `sized`
  };
  static Result<FrameIndex> index_frames(const MappedFile& compressed);

 private:
  explicit ZstdInputFile(std::shared_ptr<MappedFile> compressed) : compressed_(std::move(compressed)) {}
  // Decodes the next bytes of the stream into `out` (nullptr: discard) until `length` bytes
  // came out or the stream ended.
  Status decode_forward(std::byte* out, uint64_t length) const;
  // Positions the decoder at the start of the last frame that begins at or before `offset`.
  void restart(uint64_t offset) const;
  // The last frame that starts at or before `offset` (the stream's start when none is known).
  Frame frame_before(uint64_t offset) const;

  std::shared_ptr<MappedFile> compressed_;
  uint64_t size_ = 0;
  FrameIndex frames_;
  std::shared_ptr<std::byte> head_;
  uint64_t head_size_ = 0;

  mutable std::mutex mutex_;  // the decoder state below is shared by every read
  mutable ZSTD_DCtx_s* dctx_ = nullptr;
  mutable uint64_t in_pos_ = 0;       // compressed bytes consumed
  mutable uint64_t out_pos_ = 0;      // decoded bytes produced
  mutable uint64_t released_to_ = 0;  // compressed bytes whose pages were dropped
  mutable uint64_t restarts_ = 0;
};

}  // namespace quantflow::streams
