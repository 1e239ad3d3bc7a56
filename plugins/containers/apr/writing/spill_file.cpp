#include "writing/spill_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace quantflow::apr {

namespace {

std::string os_error(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

Result<std::unique_ptr<SpillFile>> SpillFile::create(const std::string& target_path) {
  std::string dir = std::filesystem::path(target_path).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    // Filesystems without O_TMPFILE: a named file, unlinked before anything is written.
    std::string name = dir + "/.quantflow-apr-spill-XXXXXX";
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) return io_error(os_error("cannot create a scratch file in " + dir));
    ::unlink(name.c_str());
  }
  return std::unique_ptr<SpillFile>(new SpillFile(fd, dir));
}

SpillFile::~SpillFile() { ::close(fd_); }

Status SpillFile::append(std::span<const std::byte> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(size_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(os_error("cannot write the scratch file in " + dir_));
    done += static_cast<size_t>(n);
  }
  size_ += bytes.size();
  return {};
}

Status SpillFile::copy(uint64_t offset, uint64_t length,
                       const std::function<Status(std::span<const std::byte>)>& sink) const {
  constexpr uint64_t kPiece = 4ull << 20;
  std::vector<std::byte> buffer(static_cast<size_t>(std::min(kPiece, length)));
  while (length > 0) {
    const auto want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), length));
    const ssize_t n = ::pread(fd_, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(os_error("cannot read back the scratch file in " + dir_));
    if (n == 0) return io_error("the scratch file in " + dir_ + " ended early");
    QF_RETURN_IF_ERROR(sink(std::span<const std::byte>(buffer.data(), static_cast<size_t>(n))));
    offset += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
  }
  return {};
}

}  // namespace quantflow::apr
