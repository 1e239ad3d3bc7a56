// Read-only memory mapping of a whole file, for readers that hand out zero-copy views.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include "quantflow/status.hpp"

namespace quantflow {

class MappedFile {
 public:
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
    file->path_ = path;
    file->size_ = static_cast<size_t>(st.st_size);
    if (file->size_ > 0) {
      void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        return io_error(std::string("cannot map: ") + std::strerror(err)).with_file(path);
      }
      file->data_ = static_cast<const std::byte*>(p);
    }
    ::close(fd);
    return file;
  }

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
  }

  const std::string& path() const { return path_; }
  size_t size() const { return size_; }
  const std::byte* data() const { return data_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }
  // Bounds-checked sub-span; empty optional-like result via `ok` flag.
  bool contains(uint64_t offset, uint64_t length) const { return offset <= size_ && length <= size_ - offset; }
  std::span<const std::byte> slice(uint64_t offset, uint64_t length) const {
    return {data_ + offset, static_cast<size_t>(length)};
  }
  // Tells the kernel we are done with a range so streamed reads do not pile up in RSS.
  void release(uint64_t offset, uint64_t length) const {
    if (!data_ || length == 0) return;
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t begin = (offset + page - 1) / page * page;
    const uint64_t end = (offset + length) / page * page;
    if (end > begin) ::madvise(const_cast<std::byte*>(data_) + begin, end - begin, MADV_DONTNEED);
  }

 private:
  MappedFile() = default;
  std::string path_;
  size_t size_ = 0;
  const std::byte* data_ = nullptr;
};

}  // namespace quantflow
