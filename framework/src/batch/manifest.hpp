// The batch manifest: one JSON file listing every task with its key, inputs, expanded recipe,
// plugins, outputs (sha256, size), timings, peak memory and status. Every change is a
// read-modify-write under an exclusive lock, written atomically, so concurrent tasks (Slurm
// array tasks on several nodes) and an interrupted batch always leave a complete, valid file.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "quantflow/status.hpp"

namespace quantflow::batch {

inline constexpr const char* kManifestFormat = "quantflow-batch-manifest";
inline constexpr int kManifestVersion = 1;

class Manifest {
 public:
  Manifest(std::string path, std::string lock_path) : path_(std::move(path)), lock_path_(std::move(lock_path)) {}
  const std::string& path() const { return path_; }

  // The manifest as it is now; an empty one (no tasks) when the file does not exist yet.
  Result<nlohmann::json> read() const;
  // Applies `change` under the lock and replaces the file atomically.
  Status update(const std::function<void(nlohmann::json&)>& change) const;

 private:
  std::string path_;
  std::string lock_path_;
};

// The entry of task `id` in `manifest["tasks"]`, or null.
const nlohmann::json* find_task(const nlohmann::json& manifest, const std::string& id);
// Replaces (or appends) the entry with the same "id", keeping the list in "index" order.
void put_task(nlohmann::json& manifest, nlohmann::json entry);

// Now, as 2026-12-05T16:01:49Z.
std::string utc_timestamp();

}  // namespace quantflow::batch
