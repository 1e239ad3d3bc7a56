#include "streams/zstd_input_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace quantflow::streams {

namespace {

// A read this far ahead of the decoder seeks to the frame holding it rather than decoding
// (and discarding) the bytes in between.
constexpr uint64_t kSeekAheadBytes = uint64_t{16} << 20;

// Anonymous pages of their own (see MappedFile::read for why not malloc).
Result<std::shared_ptr<std::byte>> allocate_pages(uint64_t length, const std::string& path) {
  if (length == 0) return std::shared_ptr<std::byte>();
  void* pages =
      ::mmap(nullptr, static_cast<size_t>(length), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pages == MAP_FAILED)
    return io_error("cannot allocate " + std::to_string(length) + " bytes: " + std::strerror(errno)).with_file(path);
  const auto n = static_cast<size_t>(length);
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(pages), [n](std::byte* p) { ::munmap(p, n); });
}

// Reads `n` bytes at `offset` with pread: the frame walk below must not fault in pages of the
// mapping (fault-around maps whole runs of them, and the walk visits every 128 KiB).
bool read_at(int fd, uint64_t offset, void* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd, static_cast<char*>(out) + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    done += static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

// Where each frame starts, compressed and decoded, and the decoded size, from the frame
// headers alone: walks frame and block headers as RFC 8878 lays them out, reading only those
// few bytes. Frames after one that does not record its size cannot be placed.
Result<ZstdInputFile::FrameIndex> ZstdInputFile::index_frames(const MappedFile& file) {
  const int fd = ::open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error(std::string("cannot open: ") + std::strerror(errno)).with_file(file.path());
  const std::unique_ptr<int, void (*)(int*)> closer(new int(fd), [](int* p) {
    ::close(*p);
    delete p;
  });
  const uint64_t size = file.size();
  const auto corrupt = [&](uint64_t at, const char* what) {
    return bad_input(fmt::format("corrupt or truncated zstd stream: {} at compressed byte {}", what, at))
        .with_file(file.path());
  };
  FrameIndex index;
  uint64_t pos = 0;
  while (pos < size) {
    unsigned char header[18] = {};
    const size_t avail = static_cast<size_t>(std::min<uint64_t>(sizeof header, size - pos));
    if (avail < 8 || !read_at(fd, pos, header, avail)) return corrupt(pos, "a frame header is cut short");
    uint32_t magic = 0;
    std::memcpy(&magic, header, 4);
    if ((magic & 0xFFFFFFF0u) == 0x184D2A50u) {  // skippable frame: u32 length, then that many bytes
      uint32_t length = 0;
      std::memcpy(&length, header + 4, 4);
      if (length > size - pos - 8) return corrupt(pos, "a skippable frame runs past the end");
      pos += 8 + uint64_t{length};
      continue;
    }
    if (magic != 0xFD2FB528u) return corrupt(pos, "no zstd frame starts");
    const unsigned descriptor = header[4];
    const bool single_segment = descriptor & 0x20, checksum = descriptor & 0x04;
    static constexpr unsigned kDictIdBytes[] = {0, 1, 2, 4}, kSizeBytes[] = {0, 2, 4, 8};
    const unsigned fcs_flag = descriptor >> 6;
    const unsigned header_bytes = 5 + (single_segment ? 0 : 1) + kDictIdBytes[descriptor & 3] +
                                  (fcs_flag == 0 && single_segment ? 1 : kSizeBytes[fcs_flag]);
    if (header_bytes > avail) return corrupt(pos, "a frame header is cut short");
    const unsigned long long content = ZSTD_getFrameContentSize(header, header_bytes);
    if (content == ZSTD_CONTENTSIZE_ERROR) return corrupt(pos, "a frame header is invalid");
    if (index.sized) index.frames.push_back({pos, index.total});
    if (content == ZSTD_CONTENTSIZE_UNKNOWN) index.sized = false;
    index.total += index.sized ? content : 0;
    pos += header_bytes;
    for (bool last = false; !last;) {
      unsigned char block[3];
      if (size - pos < 3 || !read_at(fd, pos, block, 3)) return corrupt(pos, "a block header is cut short");
      const uint32_t bits = block[0] | (block[1] << 8) | (uint32_t{block[2]} << 16);
      last = bits & 1;
      const uint32_t type = (bits >> 1) & 3, length = bits >> 3;
      if (type == 3) return corrupt(pos, "a block has the reserved type");
      const uint64_t stored = type == 1 ? 1 : length;
      if (stored > size - pos - 3) return corrupt(pos, "a block runs past the end");
      pos += 3 + stored;
    }
    if (checksum) {
      if (size - pos < 4) return corrupt(pos, "the frame checksum is cut short");
      pos += 4;
    }
  }
  return index;
}

Result<std::shared_ptr<ZstdInputFile>> ZstdInputFile::open(std::shared_ptr<MappedFile> compressed) {
  std::shared_ptr<ZstdInputFile> file(new ZstdInputFile(std::move(compressed)));
  file->dctx_ = ZSTD_createDCtx();
  if (file->dctx_ == nullptr) return io_error("cannot create a zstd decoder (out of memory)").with_file(file->path());
  QF_ASSIGN_OR_RETURN(file->frames_, index_frames(*file->compressed_));
  if (file->frames_.sized) {
    file->size_ = file->frames_.total;
  } else {
    // A frame written by a stream (no size in its header): count by decoding once, discarding.
    std::lock_guard lock(file->mutex_);
    uint64_t counted = 0;
    for (;;) {
      const uint64_t before = file->out_pos_;
      QF_RETURN_IF_ERROR(file->decode_forward(nullptr, UINT64_MAX));
      counted = file->out_pos_;
      if (counted == before) break;
    }
    file->size_ = counted;
    file->restart(0);
    file->restarts_ = 0;
  }
  file->head_size_ = std::min<uint64_t>(file->size_, kCompressedHeadLimit);
  QF_ASSIGN_OR_RETURN(file->head_, allocate_pages(file->head_size_, file->path()));
  std::lock_guard lock(file->mutex_);
  QF_RETURN_IF_ERROR(file->decode_forward(file->head_.get(), file->head_size_));
  if (file->out_pos_ != file->head_size_)
    return bad_input(fmt::format("the zstd stream ends after {} decoded bytes, its frames declare {}", file->out_pos_,
                                 file->size_))
        .with_file(file->path());
  return file;
}

ZstdInputFile::~ZstdInputFile() { ZSTD_freeDCtx(dctx_); }

Result<std::vector<std::byte>> ZstdInputFile::decode_prefix(const MappedFile& compressed, size_t n) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return io_error("cannot create a zstd decoder (out of memory)").with_file(compressed.path());
  const auto src = compressed.head();
  std::vector<std::byte> out(n);
  ZSTD_inBuffer in{src.data(), src.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  while (o.pos < o.size && in.pos < in.size) {
    const size_t before = in.pos + o.pos;
    const size_t rc = ZSTD_decompressStream(dctx.get(), &o, &in);
    if (ZSTD_isError(rc))
      return bad_input(std::string("corrupt zstd data at the start of the file: ") + ZSTD_getErrorName(rc))
          .with_file(compressed.path());
    if (in.pos + o.pos == before) break;
  }
  out.resize(o.pos);
  return out;
}

ZstdInputFile::Frame ZstdInputFile::frame_before(uint64_t offset) const {
  const auto& frames = frames_.frames;
  auto after =
      std::upper_bound(frames.begin(), frames.end(), offset, [](uint64_t o, const Frame& f) { return o < f.decoded; });
  return after == frames.begin() ? Frame{} : *std::prev(after);
}

void ZstdInputFile::restart(uint64_t offset) const {
  ZSTD_DCtx_reset(dctx_, ZSTD_reset_session_only);
  const Frame start = frame_before(offset);
  in_pos_ = start.compressed;
  out_pos_ = start.decoded;
  released_to_ = std::min(released_to_, in_pos_);
  ++restarts_;
}

// Decodes until `length` bytes came out or the stream ended (then out_pos_ tells how far it
// got; with length UINT64_MAX and no buffer, that is how the size of an unsized stream is found).
Status ZstdInputFile::decode_forward(std::byte* out, uint64_t length) const {
  const auto src = compressed_->head();
  std::vector<std::byte> discard(out == nullptr ? ZSTD_DStreamOutSize() : 0);
  uint64_t done = 0;
  while (done < length && in_pos_ < src.size()) {
    ZSTD_inBuffer in{src.data(), src.size(), static_cast<size_t>(in_pos_)};
    const uint64_t want = std::min<uint64_t>(length - done, out ? length - done : discard.size());
    ZSTD_outBuffer o{out ? out + done : discard.data(), static_cast<size_t>(want), 0};
    const size_t rc = ZSTD_decompressStream(dctx_, &o, &in);
    if (ZSTD_isError(rc))
      return bad_input(fmt::format("corrupt zstd data near decoded byte {} (compressed byte {}): {}", out_pos_ + done,
                                   in_pos_, ZSTD_getErrorName(rc)))
          .with_file(path());
    in_pos_ = in.pos;
    done += o.pos;
    // Compressed pages behind the decoder are not needed again unless a read goes backwards.
    if (in_pos_ > released_to_ + (8u << 20)) {
      compressed_->release(released_to_, in_pos_ - released_to_);
      released_to_ = in_pos_;
    }
    if (o.pos == 0 && in.pos == src.size()) break;
  }
  out_pos_ += done;
  return {};
}

Result<TensorData> ZstdInputFile::read(uint64_t offset, uint64_t length) const {
  if (!contains(offset, length))
    return bad_input(fmt::format("data range [{}, {}) lies outside the decoded file ({} bytes)", offset,
                                 offset + length, size_))
        .with_file(path());
  if (length == 0) return TensorData{};
  QF_ASSIGN_OR_RETURN(auto buffer, allocate_pages(length, path()));
  if (offset + length <= head_size_) {
    std::memcpy(buffer.get(), head_.get() + offset, static_cast<size_t>(length));
  } else {
    std::lock_guard lock(mutex_);
    // Behind the decoder, or far ahead with a frame start in between: seek to a frame.
    if (offset < out_pos_ || (offset - out_pos_ > kSeekAheadBytes && frame_before(offset).decoded > out_pos_))
      restart(offset);
    QF_RETURN_IF_ERROR(decode_forward(nullptr, offset - out_pos_));
    const uint64_t start = out_pos_;
    QF_RETURN_IF_ERROR(decode_forward(buffer.get(), length));
    if (out_pos_ - start != length || start != offset)
      return bad_input(fmt::format("the zstd stream ends at decoded byte {}, inside data that ends at byte {}",
                                   out_pos_, offset + length))
          .with_file(path());
  }
  const std::span<const std::byte> bytes(buffer.get(), static_cast<size_t>(length));
  return TensorData{bytes, std::move(buffer)};
}

}  // namespace quantflow::streams
