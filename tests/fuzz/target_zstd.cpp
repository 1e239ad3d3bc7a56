// zstd input streams: the frame walk that finds sizes and frame starts, the decoded header
// prefix, and reads forward, backward (a seek to a frame) and at the end.
#include <algorithm>

#include "quantflow/mapped_file.hpp"
#include "streams/zstd_input_file.hpp"
#include "support.hpp"
#include "targets.hpp"

namespace qf_fuzz {

quantflow::Status fuzz_zstd(const uint8_t* data, size_t size) {
  const std::string path = scratch_file("model.gguf.zst", data, size);
  QF_ASSIGN_OR_RETURN(auto mapped, quantflow::MappedFile::open(path));
  QF_ASSIGN_OR_RETURN(auto file, quantflow::streams::ZstdInputFile::open(std::move(mapped)));
  const uint64_t n = file->size();
  if (file->head().size() != std::min<uint64_t>(n, quantflow::kCompressedHeadLimit)) __builtin_trap();
  // Small reads only: a few bytes may declare terabytes, and the reader allocates what is asked.
  const uint64_t span = std::min<uint64_t>(n, 4096);
  for (const uint64_t offset : {n / 2, uint64_t{0}, n - span}) {
    const uint64_t length = std::min<uint64_t>(span, n - offset);
    QF_ASSIGN_OR_RETURN(auto bytes, file->read(offset, length));
    if (bytes.bytes.size() != length) __builtin_trap();
    if (offset + length <= file->head().size() &&
        !std::equal(bytes.bytes.begin(), bytes.bytes.end(), file->head().begin() + static_cast<std::ptrdiff_t>(offset)))
      __builtin_trap();
  }
  return {};
}

}  // namespace qf_fuzz
