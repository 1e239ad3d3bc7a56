// SHA-256 through OpenSSL's EVP interface; the cache is a small JSON file.
#include "batch/content_hash.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "core/atomic_output.hpp"

namespace quantflow::batch {

namespace {

namespace fs = std::filesystem;

struct DigestContext {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  DigestContext() { EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr); }
  void update(const void* data, size_t n) { EVP_DigestUpdate(ctx.get(), data, n); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx.get(), digest, &n);
    std::string out;
    for (unsigned int i = 0; i < n; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }
};

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  DigestContext digest;
  digest.update(bytes.data(), bytes.size());
  return digest.hex();
}

Result<std::string> sha256_of_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open to hash it").with_file(path);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  DigestContext digest;
  std::vector<char> buffer(4 << 20);
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      ::close(fd);
      return io_error("read error while hashing").with_file(path);
    }
    if (n == 0) break;
    digest.update(buffer.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return digest.hex();
}

HashCache::HashCache(std::string file) : file_(std::move(file)) {
  if (file_.empty()) return;
  std::ifstream in(file_);
  if (!in) return;
  const nlohmann::json cache = nlohmann::json::parse(in, nullptr, false);
  if (!cache.is_object()) return;  // a damaged cache is only a cost
  for (const auto& [path, e] : cache.items()) {
    if (!e.is_object() || !e.contains("sha256")) continue;
    entries_[path] = {e.value("size", uint64_t{0}), e.value("inode", uint64_t{0}), e.value("mtime_ns", int64_t{0}),
                      e.value("sha256", std::string())};
  }
}

Result<std::string> HashCache::hash_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return io_error("cannot read it").with_file(path);
  const int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(path);
    if (it != entries_.end() && it->second.size == static_cast<uint64_t>(st.st_size) &&
        it->second.inode == static_cast<uint64_t>(st.st_ino) && it->second.mtime_ns == mtime_ns)
      return it->second.sha256;
  }
  QF_ASSIGN_OR_RETURN(std::string sha, sha256_of_file(path));
  std::lock_guard lock(mutex_);
  entries_[path] = {static_cast<uint64_t>(st.st_size), static_cast<uint64_t>(st.st_ino), mtime_ns, sha};
  return sha;
}

Result<std::string> HashCache::hash(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return hash_file(path);
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(".")) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec)) files.push_back(it->path().string());
  }
  if (ec) return io_error("cannot list the folder").with_file(path);
  std::sort(files.begin(), files.end());
  std::string listing;
  for (const auto& f : files) {
    QF_ASSIGN_OR_RETURN(std::string sha, hash_file(f));
    listing += fs::relative(f, path).string() + " " + sha + "\n";
  }
  return sha256_hex(listing);
}

void HashCache::save() const {
  if (file_.empty()) return;
  nlohmann::json cache = nlohmann::json::object();
  {
    std::lock_guard lock(mutex_);
    for (const auto& [path, e] : entries_)
      cache[path] = {{"size", e.size}, {"inode", e.inode}, {"mtime_ns", e.mtime_ns}, {"sha256", e.sha256}};
  }
  std::error_code ec;
  fs::create_directories(fs::path(file_).parent_path(), ec);
  (void)core::write_file_atomically(file_, cache.dump(1) + "\n");
}

}  // namespace quantflow::batch
