// One lock per output path, held while a task writes it, so that two batches (or two runs of
// one) never write the same output at once. The lock is flock(2) on a hidden file beside the
// output, `.NAME.quantflow-lock`, removed when released; a process killed while holding it
// leaves the file but not the lock, and the next holder removes it.
#pragma once

#include <string>

#include "quantflow/status.hpp"

namespace quantflow::batch {

class OutputLock {
 public:
  // Fails at once (never waits) when another process holds the lock.
  static Result<OutputLock> acquire(const std::string& output);
  OutputLock(OutputLock&& other) noexcept;
  OutputLock& operator=(OutputLock&&) = delete;
  ~OutputLock();

 private:
  OutputLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

// The lock file of an output (a trailing '/' is ignored).
std::string output_lock_path(const std::string& output);

}  // namespace quantflow::batch
