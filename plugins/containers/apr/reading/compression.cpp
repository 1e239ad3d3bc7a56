#include "reading/compression.hpp"

#include <sys/mman.h>
#include <zstd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace quantflow::apr {

namespace {

// Anonymous pages of their own, returned to the system when the tensor is dropped.
Result<std::shared_ptr<std::byte>> allocate_pages(uint64_t n) {
  void* p = ::mmap(nullptr, static_cast<size_t>(n), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return io_error("cannot allocate " + std::to_string(n) + " bytes: " + std::strerror(errno));
  const auto length = static_cast<size_t>(n);
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [length](std::byte* q) { ::munmap(q, length); });
}

Status zstd_error(const char* what, size_t code) {
  return bad_input(std::string(what) + ": " + ZSTD_getErrorName(code));
}

}  // namespace

Result<CompressionChoice> parse_compression(std::string_view option) {
  CompressionChoice c;
  if (option.empty() || option == "none") return c;
  c.zstd = true;
  if (option == "zstd") return c;
  const std::string_view prefix = "zstd:";
  int level = 0;
  const char* end = option.data() + option.size();
  if (option.starts_with(prefix)) {
    const auto [ptr, ec] = std::from_chars(option.data() + prefix.size(), end, level);
    if (ec == std::errc() && ptr == end && level >= 1 && level <= ZSTD_maxCLevel()) {
      c.level = level;
      return c;
    }
  }
  return usage_error("compress_tensors must be none, zstd or zstd:LEVEL with LEVEL 1 to " +
                     std::to_string(ZSTD_maxCLevel()) + ", not '" + std::string(option) + "'");
}

Result<TensorData> decode_frame(std::span<const std::byte> frame, uint64_t raw_size) {
  const std::string need = std::to_string(raw_size);
  if (frame.empty() && raw_size == 0) return TensorData{};  // an empty tensor may store nothing
  const unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) return bad_input("corrupt zstd frame: not a zstd frame");
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != raw_size)
    return bad_input("the zstd frame holds " + std::to_string(declared) + " bytes, dtype and shape need " + need);
  if (raw_size == 0) {
    if (declared != 0) return bad_input("the zstd frame does not declare its size of 0 bytes");
    return TensorData{};
  }
  QF_ASSIGN_OR_RETURN(auto pages, allocate_pages(raw_size));
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) return internal_error("cannot create a zstd decoder");
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  ZSTD_outBuffer out{pages.get(), static_cast<size_t>(raw_size), 0};
  size_t remaining = 1;  // ZSTD_decompressStream: 0 once the frame is complete
  while (remaining != 0) {
    const size_t before_in = in.pos, before_out = out.pos;
    if (out.pos == out.size) {
      // Full: any further output is too much; a frame may still end (epilogue, checksum).
      std::byte extra[1];
      ZSTD_outBuffer probe{extra, sizeof extra, 0};
      remaining = ZSTD_decompressStream(ctx.get(), &probe, &in);
      if (ZSTD_isError(remaining)) return zstd_error("corrupt zstd frame", remaining);
      if (probe.pos > 0)
        return bad_input("the zstd frame decodes to more than the " + need + " bytes dtype and shape need");
    } else {
      remaining = ZSTD_decompressStream(ctx.get(), &out, &in);
      if (ZSTD_isError(remaining)) return zstd_error("corrupt zstd frame", remaining);
    }
    if (remaining != 0 && in.pos == before_in && out.pos == before_out) {
      if (in.pos == in.size)
        return bad_input("truncated zstd frame: it ends after " + std::to_string(frame.size()) + " bytes");
      return bad_input("corrupt zstd frame: the decoder stopped at byte " + std::to_string(in.pos));
    }
  }
  if (out.pos != raw_size)
    return bad_input("the zstd frame decodes to " + std::to_string(out.pos) + " bytes, dtype and shape need " + need);
  if (in.pos != frame.size())
    return bad_input(std::to_string(frame.size() - in.pos) + " bytes follow the zstd frame in the tensor's data");
  const std::span<const std::byte> bytes(pages.get(), static_cast<size_t>(raw_size));
  return TensorData{bytes, std::move(pages)};
}

struct FrameEncoder::State {
  ZSTD_CCtx* ctx = nullptr;
  std::vector<std::byte> out;
};

FrameEncoder::FrameEncoder(int level) : state_(std::make_unique<State>()) {
  state_->ctx = ZSTD_createCCtx();
  if (state_->ctx != nullptr) {
    ZSTD_CCtx_setParameter(state_->ctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(state_->ctx, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(state_->ctx, ZSTD_c_contentSizeFlag, 1);
  }
}

FrameEncoder::~FrameEncoder() { ZSTD_freeCCtx(state_->ctx); }

Result<std::span<const std::byte>> FrameEncoder::encode(std::span<const std::byte> raw) {
  if (state_->ctx == nullptr) return internal_error("cannot create a zstd encoder");
  state_->out.resize(ZSTD_compressBound(raw.size()));
  const size_t n = ZSTD_compress2(state_->ctx, state_->out.data(), state_->out.size(), raw.data(), raw.size());
  if (ZSTD_isError(n)) return internal_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  return std::span<const std::byte>(state_->out.data(), n);
}

}  // namespace quantflow::apr
