// Output safety: bytes go to a temporary file beside the target, which is fsynced and
// renamed over the target only on success. A crash or kill leaves the target untouched.
//
// Where the file system supports it the temporary is anonymous (O_TMPFILE): it has no name
// until commit(), so even kill -9 leaves nothing behind (the kernel frees an unlinked inode
// when its last descriptor closes). Elsewhere it is a hidden named file whose name embeds the
// pid; SIGINT/SIGTERM/SIGHUP remove it, and the next run into the folder removes those of
// dead processes (see stale_temporaries.hpp).
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
  // `allow_anonymous` = false forces the named fallback (tests exercise it that way).
  static Result<std::unique_ptr<AtomicFileSink>> create(const std::string& target,
                                                        const std::vector<std::string>& inputs = {},
                                                        bool allow_anonymous = true);
  ~AtomicFileSink() override;  // removes the temporary file unless commit() succeeded

  Status write(std::span<const std::byte> bytes) override;
  uint64_t position() const override { return position_; }
  const std::string& target_path() const override { return target_; }
  // True while the temporary is an unnamed O_TMPFILE inode.
  bool anonymous() const { return anonymous_; }
  // The named temporary; empty for an anonymous one (it gets a name only inside commit()).
  const std::string& temp_path() const { return temp_; }

  // Flushes and fsyncs; an anonymous file is then linked under a temporary name. That name
  // is renamed over the target (replacing an existing one atomically) and the directory
  // is fsynced. commit() = prepare() then publish(); OutputSet calls them apart.
  Status commit();
  // Writes out the buffer and frees it: the bytes are complete, the file is still unnamed.
  Status finish_writing();
  Status prepare();
  Status publish();

 private:
  AtomicFileSink() = default;
  Status flush_buffer();
  Status write_through(std::span<const std::byte> bytes);
  Status link_anonymous(std::string& name);

  std::string target_;
  std::string dir_;
  std::string temp_;
  int fd_ = -1;
  int dir_fd_ = -1;  // the target's directory, for linkat/renameat/fsync
  bool anonymous_ = false;
  uint64_t position_ = 0;
  uint64_t written_ = 0;         // bytes handed to write(2)
  uint64_t writeback_from_ = 0;  // where the next sync_file_range starts
  std::vector<std::byte> buffer_;
  bool committed_ = false;
};

// Files that appear together or not at all (the shards, index and companions of one output):
// each is complete in its own temporary before any is published, so a failure or kill while
// writing leaves none of them; commit() makes every one durable, then renames them in the order
// they were added.
class OutputSet {
 public:
  Status add(std::unique_ptr<AtomicFileSink> file);  // a file whose bytes are all written
  Status add_text(const std::string& target, std::string_view text, const std::vector<std::string>& inputs = {});
  Status commit();

 private:
  std::vector<std::unique_ptr<AtomicFileSink>> files_;
};

// A whole small file (a report, an index, a model card) through an AtomicFileSink.
Status write_file_atomically(const std::string& target, std::string_view text,
                             const std::vector<std::string>& inputs = {});

// True when both paths name the same existing file (same device and inode).
bool same_file(const std::string& a, const std::string& b);

// The same file, or the same path once normalized (for outputs that may not exist yet).
bool same_path(const std::string& a, const std::string& b);

}  // namespace quantflow::core
