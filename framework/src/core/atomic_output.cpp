#include "core/atomic_output.hpp"

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

#include <fmt/format.h>

namespace quantflow::core {

namespace fs = std::filesystem;

namespace {

constexpr size_t kBufferBytes = 4u << 20;

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

Result<std::unique_ptr<AtomicFileSink>> AtomicFileSink::create(const std::string& target,
                                                               const std::vector<std::string>& inputs) {
  for (const auto& input : inputs) {
    if (same_file(target, input) || fs::weakly_canonical(target) == fs::weakly_canonical(input))
      return usage_error("the output is the same file as the input " + input + "; quantflow never overwrites an input")
          .with_file(target);
  }
  std::error_code ec;
  if (fs::is_directory(target, ec)) return usage_error("the output path is a directory").with_file(target);
  const fs::path target_path(target);
  const fs::path dir = target_path.has_parent_path() ? target_path.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) return io_error("the output directory does not exist").with_file(target);

  install_signal_cleanup();
  std::random_device rd;
  auto sink = std::unique_ptr<AtomicFileSink>(new AtomicFileSink());
  sink->target_ = target;
  for (int attempt = 0; attempt < 16; ++attempt) {
    const std::string name =
        fmt::format(".{}.quantflow-tmp-{}-{:08x}", target_path.filename().string(), ::getpid(), rd());
    sink->temp_ = (dir / name).string();
    sink->fd_ = ::open(sink->temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (sink->fd_ >= 0 || errno != EEXIST) break;
  }
  if (sink->fd_ < 0)
    return io_error("cannot create a temporary file beside the output: " + errno_text()).with_file(target);
  track(sink->temp_);
  sink->buffer_.reserve(kBufferBytes);
  return sink;
}

AtomicFileSink::~AtomicFileSink() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
  untrack(temp_);
}

Status AtomicFileSink::flush_buffer() {
  const std::byte* p = buffer_.data();
  size_t left = buffer_.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write failed: " + errno_text()).with_file(target_);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  buffer_.clear();
  return {};
}

Status AtomicFileSink::write(std::span<const std::byte> bytes) {
  if (fd_ < 0) return internal_error("write after commit").with_file(target_);
  position_ += bytes.size();
  if (buffer_.size() + bytes.size() > kBufferBytes) {
    QF_RETURN_IF_ERROR(flush_buffer());
    if (bytes.size() >= kBufferBytes) {  // large tensors go straight to the file
      buffer_.assign(bytes.begin(), bytes.end());
      Status s = flush_buffer();
      buffer_.reserve(kBufferBytes);
      return s;
    }
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  return {};
}

Status AtomicFileSink::commit() {
  QF_RETURN_IF_ERROR(flush_buffer());
  if (::fsync(fd_) != 0) return io_error("fsync failed: " + errno_text()).with_file(target_);
  if (::close(fd_) != 0) {
    fd_ = -1;
    return io_error("close failed: " + errno_text()).with_file(target_);
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), target_.c_str()) != 0)
    return io_error("cannot rename the finished file into place: " + errno_text()).with_file(target_);
  committed_ = true;
  const fs::path dir = fs::path(target_).has_parent_path() ? fs::path(target_).parent_path() : fs::path(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // makes the rename itself durable
    ::close(dfd);
  }
  return {};
}

Status write_file_atomically(const std::string& target, std::string_view text, const std::vector<std::string>& inputs) {
  QF_ASSIGN_OR_RETURN(auto sink, AtomicFileSink::create(target, inputs));
  QF_RETURN_IF_ERROR(sink->write({reinterpret_cast<const std::byte*>(text.data()), text.size()}));
  return sink->commit();
}

}  // namespace quantflow::core
