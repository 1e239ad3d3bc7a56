#include "pipeline/engine/carried_files.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/atomic_output.hpp"

namespace quantflow::pipeline {

namespace {

namespace fs = std::filesystem;

const QfFolderLayout* carrying_layout(const Conversion& conversion) {
  if (conversion.folder.empty() || conversion.container == nullptr) return nullptr;
  const QfFolderLayout* layout = conversion.container->folder;
  if (layout == nullptr || layout->carried_files == nullptr || layout->n_carried_files == 0) return nullptr;
  return layout;
}

// FNM_PERIOD: a pattern such as "*.tiktoken" never carries a hidden file.
bool matches_any(const QfFolderLayout& layout, const std::string& name) {
  for (uint32_t i = 0; i < layout.n_carried_files; ++i) {
    const char* pattern = layout.carried_files[i];
    if (pattern != nullptr && pattern[0] != '\0' && ::fnmatch(pattern, name.c_str(), FNM_PERIOD) == 0) return true;
  }
  return false;
}

// The names the conversion itself writes into the folder: an input's file of the same name
// must not replace (or race) the container's own.
std::set<std::string> written_names(const Conversion& conversion) {
  const QfFolderLayout& layout = *conversion.container->folder;
  std::set<std::string> names = {layout.weights_file};
  if (const QfSplitConvention* split = conversion.container->split; split && split->index_suffix)
    names.insert(std::string(layout.weights_file) + split->index_suffix);
  for (uint32_t i = 0; i < layout.n_companions; ++i) names.insert(layout.companions[i].name);
  for (const OutputFile& file : conversion.files) names.insert(fs::path(file.path).filename().string());
  if (!conversion.index_path.empty()) names.insert(fs::path(conversion.index_path).filename().string());
  return names;
}

// Both paths canonical: `path` is `folder` or below it.
bool lies_inside(const fs::path& path, const fs::path& folder) {
  return std::mismatch(folder.begin(), folder.end(), path.begin(), path.end()).first == folder.end();
}

// Where an entry's bytes come from: the entry, or the file its link leads to, which must lie
// inside the folder (a link is how a folder could hand out any file on the machine).
Result<std::string> source_of(const fs::directory_entry& entry, const fs::path& folder) {
  std::error_code ec;
  if (!entry.is_symlink(ec)) return entry.path().string();
  const fs::path target = fs::canonical(entry.path(), ec);
  if (ec) return bad_input("the link cannot be followed: " + ec.message()).with_file(entry.path().string());
  if (!lies_inside(target, folder))
    return bad_input(fmt::format("the link leads outside the input folder, to {}; only files inside it are carried",
                                 target.string()))
        .with_file(entry.path().string());
  return target.string();
}

Status copy_file(const CarriedFile& file, const std::vector<std::string>& input_paths, core::OutputSet& output) {
  std::vector<std::string> inputs = input_paths;
  inputs.push_back(file.source);
  QF_ASSIGN_OR_RETURN(auto sink, core::AtomicFileSink::create(file.target, inputs));
  // O_NOFOLLOW: an entry swapped for a link after planning is refused, not followed.
  const int fd = ::open(file.source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return io_error(std::string("cannot read the file: ") + std::strerror(errno)).with_file(file.source);
  std::vector<std::byte> buffer(1u << 20);
  Status status;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = io_error(std::string("cannot read the file: ") + std::strerror(errno)).with_file(file.source);
    if (n <= 0) break;
    status = sink->write({buffer.data(), static_cast<size_t>(n)});
    if (!status.ok()) break;
  }
  ::close(fd);
  QF_RETURN_IF_ERROR(status);
  return output.add(std::move(sink));
}

}  // namespace

Result<std::vector<CarriedFile>> plan_carried_files(const Conversion& conversion) {
  std::vector<CarriedFile> files;
  const QfFolderLayout* layout = carrying_layout(conversion);
  std::error_code ec;
  if (layout == nullptr || conversion.input_paths.size() != 1 || !fs::is_directory(conversion.input_paths[0], ec))
    return files;
  const std::string& input = conversion.input_paths[0];
  const fs::path folder = fs::canonical(input, ec);
  if (ec) return io_error("cannot resolve the input folder: " + ec.message()).with_file(input);
  const std::set<std::string> own = written_names(conversion);
  fs::directory_iterator it(input, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!matches_any(*layout, name) || own.count(name) != 0) continue;
    QF_ASSIGN_OR_RETURN(std::string source, source_of(*it, folder));
    std::error_code type_ec;
    if (!fs::is_regular_file(source, type_ec)) continue;  // a folder or device of that name is no file to carry
    files.push_back({name, std::move(source), (fs::path(conversion.folder) / name).string()});
  }
  if (ec) return io_error("cannot list the input folder: " + ec.message()).with_file(input);
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return files;
}

Status copy_carried_files(const std::vector<CarriedFile>& files, const std::vector<std::string>& input_paths,
                          core::OutputSet& output) {
  for (const CarriedFile& file : files) QF_RETURN_IF_ERROR(copy_file(file, input_paths, output));
  return {};
}

std::string carried_summary(const Conversion& conversion, const std::vector<std::string>& carried) {
  if (!carried.empty())
    return fmt::format("carried from {}: {}", conversion.input_paths.front(), fmt::join(carried, ", "));
  if (carrying_layout(conversion) == nullptr || conversion.input_paths.size() < 2) return {};
  std::error_code ec;
  const bool any_folder = std::any_of(conversion.input_paths.begin(), conversion.input_paths.end(),
                                      [&](const std::string& input) { return fs::is_directory(input, ec); });
  if (!any_folder) return {};
  return fmt::format(
      "carried no tokenizer or generation files: the model comes from {} inputs; copy them from the folder they "
      "belong to",
      conversion.input_paths.size());
}

}  // namespace quantflow::pipeline
