// An OutputSink that compresses everything written to it and passes the compressed bytes to
// another sink, normally the AtomicFileSink of the output file. Writers see uncompressed
// positions, so their offsets and padding are those of the plain file; only the bytes on disk
// differ. The stream is a run of independent frames of kFrameBytes decoded bytes each, every
// one recording its size and a checksum: any zstd tool decodes the file, and quantflow's own
// reader learns the decoded size and where each frame starts from the frame headers alone,
// so it can seek to a frame instead of decoding from the start.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "quantflow/container.hpp"

struct ZSTD_CCtx_s;

namespace quantflow::streams {

class ZstdSink final : public OutputSink {
 public:
  static constexpr size_t kFrameBytes = size_t{8} << 20;
  // `level` 1..19. Runs on the calling thread (no zstd workers): the frame is the same at any
  // thread count, so outputs stay deterministic.
  static Result<std::unique_ptr<ZstdSink>> create(OutputSink& inner, int level);
  ~ZstdSink() override;

  Status write(std::span<const std::byte> bytes) override;
  uint64_t position() const override { return position_; }
  const std::string& target_path() const override { return inner_.target_path(); }
  // Ends the frame; call once after the writer's finish() and before committing `inner`.
  Status finish();

 private:
  explicit ZstdSink(OutputSink& inner) : inner_(inner) {}
  Status emit_frame();

  OutputSink& inner_;
  ZSTD_CCtx_s* cctx_ = nullptr;
  std::vector<std::byte> pending_;  // decoded bytes of the frame being gathered
  std::vector<std::byte> out_;
  uint64_t position_ = 0;
  bool finished_ = false;
};

}  // namespace quantflow::streams
