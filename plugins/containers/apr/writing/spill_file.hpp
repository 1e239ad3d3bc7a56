// An anonymous scratch file beside the output: compressed tensors wait here until finish()
// knows every size the header and index (which precede the data) must hold. It has no name
// (O_TMPFILE, or a name unlinked at once), so nothing is left behind after a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "quantflow/status.hpp"

namespace quantflow::apr {

class SpillFile {
 public:
  // In the directory of `target_path` (the output's final path).
  static Result<std::unique_ptr<SpillFile>> create(const std::string& target_path);
  ~SpillFile();
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  Status append(std::span<const std::byte> bytes);
  uint64_t size() const { return size_; }
  // Hands [offset, offset + length) to `sink` in pieces of at most 4 MiB.
  Status copy(uint64_t offset, uint64_t length, const std::function<Status(std::span<const std::byte>)>& sink) const;

 private:
  SpillFile(int fd, std::string dir) : fd_(fd), dir_(std::move(dir)) {}
  int fd_;
  std::string dir_;
  uint64_t size_ = 0;
};

}  // namespace quantflow::apr
