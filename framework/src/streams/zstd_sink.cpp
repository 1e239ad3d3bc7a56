#include "streams/zstd_sink.hpp"

#include <zstd.h>

#include <algorithm>

#include <fmt/format.h>

namespace quantflow::streams {

Result<std::unique_ptr<ZstdSink>> ZstdSink::create(OutputSink& inner, int level) {
  std::unique_ptr<ZstdSink> sink(new ZstdSink(inner));
  sink->cctx_ = ZSTD_createCCtx();
  if (sink->cctx_ == nullptr) return io_error("cannot create a zstd compressor (out of memory)");
  const size_t set_level = ZSTD_CCtx_setParameter(sink->cctx_, ZSTD_c_compressionLevel, level);
  const size_t set_checksum = ZSTD_CCtx_setParameter(sink->cctx_, ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError(set_level) || ZSTD_isError(set_checksum))
    return usage_error(fmt::format("zstd refuses compression level {}: {}", level,
                                   ZSTD_getErrorName(ZSTD_isError(set_level) ? set_level : set_checksum)));
  sink->pending_.reserve(kFrameBytes);
  sink->out_.resize(ZSTD_compressBound(kFrameBytes));
  return sink;
}

ZstdSink::~ZstdSink() { ZSTD_freeCCtx(cctx_); }

// One-shot compression records the frame's decoded size in its header.
Status ZstdSink::emit_frame() {
  const size_t n = ZSTD_compress2(cctx_, out_.data(), out_.size(), pending_.data(), pending_.size());
  if (ZSTD_isError(n)) return io_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  pending_.clear();
  return inner_.write(std::span(out_.data(), n));
}

Status ZstdSink::write(std::span<const std::byte> bytes) {
  if (finished_) return internal_error("write after the zstd stream was finished");
  position_ += bytes.size();
  while (!bytes.empty()) {
    const size_t take = std::min(bytes.size(), kFrameBytes - pending_.size());
    pending_.insert(pending_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
    bytes = bytes.subspan(take);
    if (pending_.size() == kFrameBytes) QF_RETURN_IF_ERROR(emit_frame());
  }
  return {};
}

Status ZstdSink::finish() {
  if (finished_) return {};
  finished_ = true;
  // An empty output is still one (empty) frame, so that the file is valid zstd.
  if (!pending_.empty() || position_ == 0) return emit_frame();
  return {};
}

}  // namespace quantflow::streams
