// MappedFile: the InputFile of a plain file on disk, a read-only memory mapping of the whole
// file for parsing headers in place plus checked reads of tensor data. Containers get one from
// CodecCatalog::open_input, which also decodes compressed (.zst) inputs behind the same interface.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>
#include <span>
#include <string>

#include "quantflow/input_file.hpp"
#include "quantflow/status.hpp"
#include "quantflow/tensor.hpp"

namespace quantflow {

// Page-aligned read buffers, reused: a conversion reads tensor after tensor of a few sizes, and
// pages that stay resident cost nothing the next time, where fresh ones fault in (and get
// zeroed) page by page. At most kMaxIdleBytes wait idle; anything else goes back to the system
// at once, so idle buffers cannot make the peak grow past a few layers' worth. (Anonymous
// mappings rather than malloc, which would keep large freed blocks in its arenas.)
class ReadBuffers {
 public:
  static ReadBuffers& instance() {
    static ReadBuffers buffers;
    return buffers;
  }
  // The smallest idle buffer of at least `length` bytes that is not much larger, else a new
  // one; null when memory is exhausted. `capacity` receives its size.
  std::byte* acquire(size_t length, size_t& capacity) {
    {
      std::lock_guard lock(mutex_);
      size_t best = idle_.size();
      for (size_t i = 0; i < idle_.size(); ++i)
        if (idle_[i].second >= length && idle_[i].second <= length + length / 4 + kRounding &&
            (best == idle_.size() || idle_[i].second < idle_[best].second))
          best = i;
      if (best != idle_.size()) {
        auto [p, size] = idle_[best];
        idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(best));
        idle_bytes_ -= size;
        capacity = size;
        return p;
      }
    }
    capacity = (length + kRounding - 1) / kRounding * kRounding;
    void* p = ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    // Transparent huge pages where the system allows them: one fault per 2 MiB, not per 4 KiB.
    if (capacity >= kRounding) ::madvise(p, capacity, MADV_HUGEPAGE);
    return static_cast<std::byte*>(p);
  }
  void give_back(std::byte* p, size_t capacity) {
    {
      std::lock_guard lock(mutex_);
      if (idle_bytes_ + capacity <= kMaxIdleBytes) {
        idle_.emplace_back(p, capacity);
        idle_bytes_ += capacity;
        return;
      }
    }
    ::munmap(p, capacity);
  }

 private:
  static constexpr size_t kRounding = 2u << 20;
  static constexpr size_t kMaxIdleBytes = 64u << 20;
  std::mutex mutex_;
  std::vector<std::pair<std::byte*, size_t>> idle_;
  size_t idle_bytes_ = 0;
};

// Shared by a Reader and the TensorData it hands out; unmapped and closed by the last owner.
class MappedFile final : public InputFile {
 public:
  // Maps `path` (a regular file; an empty one maps to no bytes). Errors name the file.
  static Result<std::shared_ptr<MappedFile>> open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error(std::string("cannot open: ") + std::strerror(errno)).with_file(path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return io_error(std::string("cannot stat: ") + std::strerror(err)).with_file(path);
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return bad_input("not a regular file").with_file(path);
    }
    auto file = std::shared_ptr<MappedFile>(new MappedFile());
    file->fd_ = fd;  // kept for read(); closed by the destructor
    file->path_ = path;
    file->size_ = static_cast<size_t>(st.st_size);
    if (file->size_ > 0) {
      void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        return io_error(std::string("cannot map: ") + std::strerror(errno)).with_file(path);
      }
      file->data_ = static_cast<const std::byte*>(p);
    }
    return file;
  }

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }

  const std::string& path() const override { return path_; }
  uint64_t size() const override { return size_; }
  // The whole file, for parsing a header in place (empty for an empty file).
  std::span<const std::byte> head() const override { return {data_, size_}; }

  // A copy of [offset, offset + length), read with pread rather than handed out as a view
  // into the mapping. Why: if the file is truncated (or rewritten shorter) while we run, a
  // mapped page past the new end raises SIGBUS wherever it is touched - deep inside a codec,
  // on a pool thread - and the process dies without a word. pread instead returns a short
  // count that becomes a one-line error naming the file. (A sigsetjmp guard around a copy
  // out of the mapping costs the same copy plus a process-wide SIGBUS handler that competes
  // with sanitizers and embedders, and cannot cover code that reads a view later.) The
  // buffer is page-aligned, as good as the container alignment codecs saw before.
  Result<TensorData> read(uint64_t offset, uint64_t length) const override {
    if (!contains(offset, length))
      return bad_input("data range [" + std::to_string(offset) + ", " + std::to_string(offset + length) +
                       ") lies outside the file (" + std::to_string(size_) + " bytes)")
          .with_file(path_);
    if (length == 0) return TensorData{};
    // Anonymous pages, recycled through ReadBuffers so that a stream of tensors reuses pages
    // that are already resident instead of faulting in fresh ones for every tensor.
    size_t capacity = 0;
    std::byte* pages = ReadBuffers::instance().acquire(static_cast<size_t>(length), capacity);
    // No exception: this runs inside plugins, and exceptions never cross a plugin boundary.
    if (pages == nullptr)
      return io_error("cannot allocate " + std::to_string(length) + " bytes: " + std::strerror(errno)).with_file(path_);
    std::shared_ptr<std::byte> buffer(pages,
                                      [capacity](std::byte* p) { ReadBuffers::instance().give_back(p, capacity); });
    uint64_t done = 0;
    while (done < length) {
      const ssize_t n =
          ::pread(fd_, buffer.get() + done, static_cast<size_t>(length - done), static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return io_error(std::string("read failed: ") + std::strerror(errno)).with_file(path_);
      if (n == 0) {
        struct stat st {};
        const long long now = ::fstat(fd_, &st) == 0 ? static_cast<long long>(st.st_size) : -1;
        return io_error("the file shrank while being read: it now has " + std::to_string(now) +
                        " bytes, this data ends at byte " + std::to_string(offset + length))
            .with_file(path_);
      }
      done += static_cast<uint64_t>(n);
    }
    const std::span<const std::byte> bytes(buffer.get(), static_cast<size_t>(length));
    return TensorData{bytes, std::move(buffer)};
  }

  // Tells the kernel we are done with a range so streamed reads do not pile up in RSS.
  void release(uint64_t offset, uint64_t length) const override {
    if (!data_ || length == 0) return;
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t begin = (offset + page - 1) / page * page;
    const uint64_t end = (offset + length) / page * page;
    if (end > begin) ::madvise(const_cast<std::byte*>(data_) + begin, end - begin, MADV_DONTNEED);
  }

 private:
  MappedFile() = default;
  std::string path_;
  int fd_ = -1;
  size_t size_ = 0;
  const std::byte* data_ = nullptr;
};

}  // namespace quantflow
