// flock(2) with the inode check that makes removing the lock file safe: a holder that locked
// a file someone has since removed retries on the new one.
#include "batch/output_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

namespace quantflow::batch {

namespace fs = std::filesystem;

std::string output_lock_path(const std::string& output) {
  std::string path = output;
  while (path.size() > 1 && path.ends_with("/")) path.pop_back();
  const fs::path p(path);
  return (p.parent_path() / ("." + p.filename().string() + ".quantflow-lock")).string();
}

Result<OutputLock> OutputLock::acquire(const std::string& output) {
  const std::string path = output_lock_path(output);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  for (int attempt = 0; attempt < 16; ++attempt) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return io_error("cannot create the output's lock file").with_file(path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return io_error(fmt::format("another quantflow process is writing {} (it holds {})", output, path));
    }
    struct stat held {
    }, named{};
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev)
      return OutputLock(path, fd);
    ::close(fd);  // the file was removed by its last holder: lock the new one
  }
  return io_error("the output's lock file keeps changing").with_file(path);
}

OutputLock::OutputLock(OutputLock&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) { other.fd_ = -1; }

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still locked: a waiter then sees a different inode and retries
  ::close(fd_);
}

}  // namespace quantflow::batch
