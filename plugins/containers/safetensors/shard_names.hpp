// Shards of a split checkpoint named as Hugging Face names them: PREFIX-00001-of-00003.safetensors
// beside PREFIX.safetensors.index.json. The first shard stands for the whole checkpoint (as
// the first GGUF shard does); a later one alone is refused rather than read as a partial model.
#pragma once

#include <optional>
#include <string>

#include "quantflow/status.hpp"

namespace quantflow::safetensors {

// The index a shard file belongs to, when its name is a shard's and that index exists beside
// it; nullopt otherwise (a plain file). A later shard is an error naming the first.
Result<std::optional<std::string>> index_of_shard(const std::string& path);

}  // namespace quantflow::safetensors
