#include "core/atomic_output.hpp"

#include "core/stale_temporaries.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>

namespace quantflow::core {

namespace fs = std::filesystem;

namespace {

constexpr size_t kBufferBytes = 4u << 20;
// How much written data may wait before its writeback is started (sync_file_range).
constexpr uint64_t kWritebackBytes = 64ull << 20;

// Temporary files still open, so that SIGINT/SIGTERM can remove them before the process
// dies. Fixed-size and lock-free because the signal handler may only touch such state.
constexpr int kMaxLiveTemps = 64;
std::atomic<const char*> live_temps[kMaxLiveTemps];

void remove_live_temps_and_reraise(int sig) {
  for (auto& slot : live_temps) {
    if (const char* p = slot.load()) ::unlink(p);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void install_signal_cleanup() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, remove_live_temps_and_reraise);
  });
}

void track(const std::string& path) {
  for (auto& slot : live_temps) {
    const char* expected = nullptr;
    if (slot.compare_exchange_strong(expected, path.c_str())) return;
  }
}

void untrack(const std::string& path) {
  for (auto& slot : live_temps) {
    const char* expected = path.c_str();
    if (slot.compare_exchange_strong(expected, nullptr)) return;
  }
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool same_path(const std::string& a, const std::string& b) {
  if (same_file(a, b)) return true;
  std::error_code ec;
  const fs::path pa = fs::weakly_canonical(a, ec), pb = fs::weakly_canonical(b, ec);
  return pa == pb;
}

Result<std::unique_ptr<AtomicFileSink>> AtomicFileSink::create(const std::string& target,
                                                               const std::vector<std::string>& inputs,
                                                               bool allow_anonymous) {
  for (const auto& input : inputs) {
    if (same_file(target, input) || fs::weakly_canonical(target) == fs::weakly_canonical(input))
      return usage_error("the output is the same file as the input " + input + "; quantflow never overwrites an input")
          .with_file(target);
  }
  std::error_code ec;
  if (fs::is_directory(target, ec)) return usage_error("the output path is a directory").with_file(target);
  // Renaming over a device or fifo (say /dev/full, as root) would replace the node itself.
  if (fs::exists(target, ec) && !fs::is_regular_file(target, ec))
    return usage_error("the output exists and is not a regular file").with_file(target);
  const fs::path target_path(target);
  const fs::path dir = target_path.has_parent_path() ? target_path.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) return io_error("the output directory does not exist").with_file(target);

  install_signal_cleanup();
  remove_stale_temporaries(dir.string());
  auto sink = std::unique_ptr<AtomicFileSink>(new AtomicFileSink());
  sink->target_ = target;
  sink->dir_ = dir.string();
  sink->dir_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sink->dir_fd_ < 0) return io_error("cannot open the output directory: " + errno_text()).with_file(target);
  if (allow_anonymous) {
    // Any failure (EOPNOTSUPP on file systems without O_TMPFILE, EISDIR on old kernels)
    // falls back to a named file, which reports the real error if there is one.
    sink->fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
    sink->anonymous_ = sink->fd_ >= 0;
  }
  if (sink->fd_ < 0) {
    std::random_device rd;
    for (int attempt = 0; attempt < 16; ++attempt) {
      sink->temp_ = (dir / temporary_name(target_path.filename().string(), ::getpid(), rd())).string();
      sink->fd_ = ::open(sink->temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (sink->fd_ >= 0 || errno != EEXIST) break;
    }
    if (sink->fd_ < 0) {
      const std::string reason = errno_text();
      sink->temp_.clear();  // nothing was created, so the destructor must not unlink
      return io_error("cannot create a temporary file beside the output: " + reason).with_file(target);
    }
    track(sink->temp_);
  }
  sink->buffer_.reserve(kBufferBytes);
  return sink;
}

AtomicFileSink::~AtomicFileSink() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
  untrack(temp_);
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

Status AtomicFileSink::write_through(std::span<const std::byte> bytes) {
  const std::byte* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write failed: " + errno_text()).with_file(target_);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  written_ += bytes.size();
  // Start writeback of what is written so far, so that the fsync at commit waits for the last
  // stretch only instead of the whole file.
  if (written_ - writeback_from_ >= kWritebackBytes) {
    ::sync_file_range(fd_, static_cast<off_t>(writeback_from_), static_cast<off_t>(written_ - writeback_from_),
                      SYNC_FILE_RANGE_WRITE);
    writeback_from_ = written_;
  }
  return {};
}

Status AtomicFileSink::flush_buffer() {
  QF_RETURN_IF_ERROR(write_through(buffer_));
  buffer_.clear();
  return {};
}

Status AtomicFileSink::write(std::span<const std::byte> bytes) {
  if (fd_ < 0) return internal_error("write after commit").with_file(target_);
  position_ += bytes.size();
  if (buffer_.size() + bytes.size() > kBufferBytes) {
    QF_RETURN_IF_ERROR(flush_buffer());
    if (bytes.size() >= kBufferBytes) return write_through(bytes);  // large tensors go straight to the file
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  return {};
}

Status AtomicFileSink::link_anonymous(std::string& name) {
  std::random_device rd;
  const std::string target_name = fs::path(target_).filename().string();
  for (int attempt = 0; attempt < 16; ++attempt) {
    name = temporary_name(target_name, ::getpid(), rd());
    temp_ = (fs::path(dir_) / name).string();
    // Tracked before it exists, so a SIGTERM between link and rename still removes it; a
    // kill -9 in that window leaves a pid-named file that the next run cleans up.
    track(temp_);
    // AT_EMPTY_PATH links the descriptor itself but needs CAP_DAC_READ_SEARCH; the /proc
    // magic link does the same for anyone who could open the file.
    int rc = ::linkat(fd_, "", dir_fd_, name.c_str(), AT_EMPTY_PATH);
    if (rc != 0 && errno != EEXIST) {
      const std::string proc = "/proc/self/fd/" + std::to_string(fd_);
      rc = ::linkat(AT_FDCWD, proc.c_str(), dir_fd_, name.c_str(), AT_SYMLINK_FOLLOW);
    }
    if (rc == 0) return {};
    const std::string reason = errno_text();
    const bool collision = errno == EEXIST;
    untrack(temp_);
    temp_.clear();
    if (!collision)
      return io_error("cannot link the finished file into the output directory: " + reason).with_file(target_);
  }
  return io_error("cannot link the finished file into the output directory: too many name collisions")
      .with_file(target_);
}

Status AtomicFileSink::finish_writing() {
  if (fd_ < 0) return internal_error("finish after commit").with_file(target_);
  QF_RETURN_IF_ERROR(flush_buffer());
  std::vector<std::byte>().swap(buffer_);  // a finished file waiting for its set holds no buffer
  return {};
}

Status AtomicFileSink::prepare() {
  if (fd_ < 0) return internal_error("commit twice").with_file(target_);
  QF_RETURN_IF_ERROR(flush_buffer());
  if (::fsync(fd_) != 0) return io_error("fsync failed: " + errno_text()).with_file(target_);
  std::string name = fs::path(temp_).filename().string();
  if (anonymous_) QF_RETURN_IF_ERROR(link_anonymous(name));
  if (::close(fd_) != 0) {
    fd_ = -1;
    return io_error("close failed: " + errno_text()).with_file(target_);
  }
  fd_ = -1;
  return {};
}

Status AtomicFileSink::publish() {
  if (fd_ >= 0 || temp_.empty()) return internal_error("publish before prepare").with_file(target_);
  const std::string name = fs::path(temp_).filename().string();
  const std::string target_name = fs::path(target_).filename().string();
  if (::renameat(dir_fd_, name.c_str(), dir_fd_, target_name.c_str()) != 0)
    return io_error("cannot rename the finished file into place: " + errno_text()).with_file(target_);
  committed_ = true;
  untrack(temp_);
  // Makes the rename itself durable. The target is already in place, so a failure here
  // cannot be undone and is not reported.
  ::fsync(dir_fd_);
  return {};
}

Status AtomicFileSink::commit() {
  QF_RETURN_IF_ERROR(prepare());
  return publish();
}

Status OutputSet::add(std::unique_ptr<AtomicFileSink> file) {
  QF_RETURN_IF_ERROR(file->finish_writing());
  files_.push_back(std::move(file));
  return {};
}

Status OutputSet::add_text(const std::string& target, std::string_view text, const std::vector<std::string>& inputs) {
  QF_ASSIGN_OR_RETURN(auto sink, AtomicFileSink::create(target, inputs));
  QF_RETURN_IF_ERROR(sink->write({reinterpret_cast<const std::byte*>(text.data()), text.size()}));
  return add(std::move(sink));
}

Status OutputSet::commit() {
  // Durable under temporary names first, so the only window in which some files are in place
  // and others not is the run of renames below.
  for (auto& file : files_) QF_RETURN_IF_ERROR(file->prepare());
  for (auto& file : files_) QF_RETURN_IF_ERROR(file->publish());
  files_.clear();
  return {};
}

Status write_file_atomically(const std::string& target, std::string_view text, const std::vector<std::string>& inputs) {
  QF_ASSIGN_OR_RETURN(auto sink, AtomicFileSink::create(target, inputs));
  QF_RETURN_IF_ERROR(sink->write({reinterpret_cast<const std::byte*>(text.data()), text.size()}));
  return sink->commit();
}

}  // namespace quantflow::core
