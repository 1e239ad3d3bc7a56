// Reading and updating the manifest under flock(2) on a lock file in the batch's state folder.
#include "batch/manifest.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "core/atomic_output.hpp"

namespace quantflow::batch {

namespace {

namespace fs = std::filesystem;

class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace

std::string utc_timestamp() {
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", now);
}

Result<nlohmann::json> Manifest::read() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in)
    return nlohmann::json{
        {"format", kManifestFormat}, {"version", kManifestVersion}, {"tasks", nlohmann::json::array()}};
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json manifest = nlohmann::json::parse(text.str(), nullptr, false);
  if (!manifest.is_object() || manifest.value("format", "") != kManifestFormat || !manifest.contains("tasks") ||
      !manifest["tasks"].is_array())
    return bad_input("not a quantflow batch manifest (remove it to start the batch afresh)").with_file(path_);
  if (manifest.value("version", 0) != kManifestVersion)
    return bad_input(fmt::format("manifest version {} is not {}", manifest.value("version", 0), kManifestVersion))
        .with_file(path_);
  return manifest;
}

Status Manifest::update(const std::function<void(nlohmann::json&)>& change) const {
  FileLock lock(lock_path_);
  if (!lock.held()) return io_error("cannot lock the manifest").with_file(lock_path_);
  QF_ASSIGN_OR_RETURN(nlohmann::json manifest, read());
  change(manifest);
  std::error_code ec;
  fs::create_directories(fs::path(path_).parent_path(), ec);
  manifest["updated"] = utc_timestamp();
  return core::write_file_atomically(path_, manifest.dump(1) + "\n");
}

const nlohmann::json* find_task(const nlohmann::json& manifest, const std::string& id) {
  if (!manifest.contains("tasks")) return nullptr;
  for (const auto& t : manifest["tasks"])
    if (t.value("id", "") == id) return &t;
  return nullptr;
}

void put_task(nlohmann::json& manifest, nlohmann::json entry) {
  nlohmann::json& tasks = manifest["tasks"];
  if (!tasks.is_array()) tasks = nlohmann::json::array();
  const std::string id = entry.value("id", "");
  for (auto& t : tasks)
    if (t.value("id", "") == id) {
      t = std::move(entry);
      return;
    }
  tasks.push_back(std::move(entry));
  std::stable_sort(tasks.begin(), tasks.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.value("index", size_t{0}) < b.value("index", size_t{0});
  });
}

}  // namespace quantflow::batch
