// Probe on bytes that are not the container's, and open_reader on files that are missing or
// cut short: answers as values, never a crash.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "conformance/container_checks.hpp"
#include "core/plugin_guard.hpp"

namespace quantflow::conformance {

namespace fs = std::filesystem;

namespace {

// `n` bytes placed so that they end where an unreadable page begins: a probe reading past
// the length it was given crashes, which the isolated check reports.
class GuardedBytes {
 public:
  explicit GuardedBytes(const std::vector<unsigned char>& bytes) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    pages_ = (bytes.size() + page - 1) / page + 1;
    size_ = pages_ * page;
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      fallback_ = bytes;
      data_ = fallback_.data();
      return;
    }
    base_ = static_cast<unsigned char*>(p);
    ::mprotect(base_ + size_ - page, page, PROT_NONE);
    data_ = base_ + size_ - page - bytes.size();
    if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
  }
  ~GuardedBytes() {
    if (base_) ::munmap(base_, size_);
  }
  GuardedBytes(const GuardedBytes&) = delete;
  GuardedBytes& operator=(const GuardedBytes&) = delete;
  const unsigned char* data() const { return data_; }

 private:
  unsigned char* base_ = nullptr;
  unsigned char* data_ = nullptr;
  size_t size_ = 0, pages_ = 0;
  std::vector<unsigned char> fallback_;
};

std::vector<unsigned char> garbage(size_t n) {
  std::vector<unsigned char> out(n);
  uint32_t state = 0x9e3779b9u;
  for (auto& b : out) {
    state = state * 1664525u + 1013904223u;
    b = static_cast<unsigned char>(state >> 24);
  }
  return out;
}

// open_reader on `path`; an error value is the expected answer. Returns what happened.
struct OpenAttempt {
  bool opened = false;
  bool threw = false;
  std::string message;
  std::unique_ptr<Reader> reader;
};

OpenAttempt try_open(const ContainerSubject& s, const std::string& path) {
  OpenAttempt attempt;
  try {
    auto reader = s.container.open_reader(path, s.catalog);
    attempt.opened = reader.ok();
    if (reader.ok())
      attempt.reader = std::move(reader).value();
    else
      attempt.message = reader.status().message();
  } catch (...) {
    attempt.threw = true;
    attempt.message = core::current_exception_text();
  }
  return attempt;
}

std::string threw(const OpenAttempt& a) {
  return fmt::format("open_reader threw an exception ({}); errors must come back as a Status", a.message);
}

}  // namespace

Outcome check_probe(const ContainerSubject& s) {
  struct Input {
    const char* label;
    std::vector<unsigned char> bytes;
  };
  const Input inputs[] = {{"empty input", {}},
                          {"4096 random bytes", garbage(4096)},
                          {"4096 0xff bytes", std::vector<unsigned char>(4096, 0xff)},
                          {"3 zero bytes", std::vector<unsigned char>(3, 0)}};
  std::string scores;
  for (const Input& input : inputs) {
    const GuardedBytes guarded(input.bytes);
    int32_t score = 0;
    try {
      score = s.container.probe(guarded.data(), input.bytes.size());
    } catch (...) {
      return fail(fmt::format("{}: probe threw an exception ({})", input.label, core::current_exception_text()));
    }
    if (score < 0 || score > 100) return fail(fmt::format("{}: probe returned {}, outside 0..100", input.label, score));
    scores += fmt::format("{}{} {}", scores.empty() ? "" : ", ", input.label, score);
  }
  return pass("probe answers 0..100 without reading past its input: " + scores);
}

Outcome check_missing_file(const ContainerSubject& s) {
  const std::string path = s.work_dir + "/does-not-exist";
  const OpenAttempt attempt = try_open(s, path);
  if (attempt.threw) return fail(threw(attempt));
  if (attempt.opened) return fail("open_reader on a file that does not exist returned a reader");
  return pass("returns an error: " + attempt.message);
}

Outcome check_truncated_file(const ContainerSubject& s) {
  const std::string source = s.written_file();
  std::error_code ec;
  if (!fs::exists(source, ec)) return skip("the round trip wrote no file to cut short");
  std::ifstream in(source, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::string answers;
  for (const size_t keep : {size_t{8}, bytes.size() / 2}) {
    std::string path = fmt::format("{}/truncated-{}{}", s.work_dir, keep, fs::path(source).extension().string());
    // A folder model is cut in its weights file; the rest of the folder is copied as is.
    if (s.container.folder != nullptr) {
      const std::string folder = fmt::format("{}/truncated-{}", s.work_dir, keep);
      fs::copy(s.written_model(), folder, fs::copy_options::recursive, ec);
      path = folder + "/" + s.container.folder->weights_file;
    }
    std::ofstream(path, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(std::min(keep, bytes.size())));
    if (s.container.folder != nullptr) path = fs::path(path).parent_path().string();
    const std::string what = fmt::format("cut to {} of {} bytes", keep, bytes.size());
    OpenAttempt attempt = try_open(s, path);
    if (attempt.threw) return fail(what + ": " + threw(attempt));
    if (!attempt.opened) {
      answers += fmt::format("{}{}: {}", answers.empty() ? "" : "; ", what, attempt.message);
      continue;
    }
    // A lazy reader may notice only when a tensor's bytes are read; that is an answer too.
    bool refused = false;
    for (size_t i = 0; i < attempt.reader->tensors().size() && !refused; ++i) {
      try {
        auto data = attempt.reader->read(i);
        if (!data.ok()) {
          refused = true;
          answers +=
              fmt::format("{}{}: reading tensor {}: {}", answers.empty() ? "" : "; ", what, i, data.status().message());
        }
      } catch (...) {
        return fail(fmt::format("{}: read({}) threw an exception ({}); errors must come back as a Status", what, i,
                                core::current_exception_text()));
      }
    }
    if (!refused) return fail(what + ": open_reader and every read succeeded; the truncation went unnoticed");
  }
  return pass("returns errors: " + answers);
}

}  // namespace quantflow::conformance
