// Output safety: bytes go to a temporary file beside the target, which is fsynced and
// renamed over the target only on success. A crash or kill leaves the target untouched.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "quantflow/container.hpp"

namespace quantflow::core {

class AtomicFileSink final : public OutputSink {
 public:
  // Refuses a target that is (or resolves to) one of `inputs`, or a directory.
  static Result<std::unique_ptr<AtomicFileSink>> create(const std::string& target,
                                                        const std::vector<std::string>& inputs = {});
  ~AtomicFileSink() override;  // removes the temporary file unless commit() succeeded

  Status write(std::span<const std::byte> bytes) override;
  uint64_t position() const override { return position_; }
  const std::string& target_path() const override { return target_; }
  const std::string& temp_path() const { return temp_; }

  // Flushes, fsyncs, renames over the target and fsyncs the directory.
  Status commit();

 private:
  AtomicFileSink() = default;
  Status flush_buffer();

  std::string target_;
  std::string temp_;
  int fd_ = -1;
  uint64_t position_ = 0;
  std::vector<std::byte> buffer_;
  bool committed_ = false;
};

// A whole small file (a report, an index, a model card) through an AtomicFileSink.
Status write_file_atomically(const std::string& target, std::string_view text,
                             const std::vector<std::string>& inputs = {});

// True when both paths name the same existing file (same device and inode).
bool same_file(const std::string& a, const std::string& b);

}  // namespace quantflow::core
