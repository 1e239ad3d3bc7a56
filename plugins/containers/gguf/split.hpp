// Split GGUF models (llama.cpp's gguf-split layout, gguf.md §10): the first shard of
// PREFIX-%05d-of-%05d.gguf stands for the whole model, as it does for llama.cpp.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "quantflow/container.hpp"

namespace quantflow::gguf {

inline constexpr char kSplitNoKey[] = "split.no";
inline constexpr char kSplitCountKey[] = "split.count";
inline constexpr char kSplitTensorsKey[] = "split.tensors.count";

// Opens one GGUF file as it is, without following split keys.
using OpenFileFn = std::function<Result<std::unique_ptr<Reader>>(const std::string& path)>;

// `first` was opened from `path`. A file without split keys, or merged by llama-gguf-split
// (split.count = 0, the keys kept as they are), is returned unchanged; the
// first shard of a split model becomes one Reader over every shard (tensors in shard
// order, the first shard's metadata without the split.* keys). A later shard given on its
// own, a missing shard and shards that disagree are refused; errors name the shard file.
Result<std::unique_ptr<Reader>> open_split(std::unique_ptr<Reader> first, const std::string& path,
                                           const OpenFileFn& open_file);

}  // namespace quantflow::gguf
