// SHA-256 of files and folders, with a cache keyed by path, size, inode and modification time so
// that re-runs of a batch do not read unchanged multi-gigabyte models again.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "quantflow/status.hpp"

namespace quantflow::batch {

std::string sha256_hex(std::string_view bytes);
Result<std::string> sha256_of_file(const std::string& path);

class HashCache {
 public:
  // `file` persists the cache between runs; empty: in memory only.
  explicit HashCache(std::string file = {});
  // A file's hash; a folder's is the hash of its files' relative paths and hashes, in name order
  // (hidden files and the batch's own working folders left out).
  Result<std::string> hash(const std::string& path);
  // Writes the cache file (atomically; a lost update only costs a re-hash).
  void save() const;

 private:
  struct Entry {
    uint64_t size = 0, inode = 0;
    int64_t mtime_ns = 0;
    std::string sha256;
  };
  Result<std::string> hash_file(const std::string& path);
  std::string file_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace quantflow::batch
