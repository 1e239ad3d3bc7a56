// Sharded APR models (§8). Each shard is a complete v2 file whose metadata says which shard it
// is: {"sharding": {shard_count, shard_index (0-based), total_size, pattern}} plus the SHARDED
// flag. In Metadata these are the split keys apr.sharding.* (the host drops them from inputs
// and the split convention's tag function sets them on each file written).
//
// Opening the first shard (or the manifest beside the shards) opens the whole model: every
// shard's tensors in shard order and the first shard's metadata without the split keys. A
// later shard on its own, a missing shard and shards that disagree are refused, naming the file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "quantflow/container.hpp"

namespace quantflow::apr {

inline constexpr const char* kSplitKeys =
    "apr.sharding.shard_count apr.sharding.shard_index apr.sharding.total_size apr.sharding.pattern";
inline constexpr const char* kManifestSuffix = ".manifest.json";

// A path is a manifest when its text is JSON naming shards; see looks_like_manifest.
bool looks_like_manifest(const unsigned char* head, size_t n);

// Opens an APR file, or a sharded model from its first shard or its manifest.
Result<std::unique_ptr<Reader>> open_model(const std::string& path, const CodecCatalog& catalog);
// Opens the sharded model a manifest lists (manifest.cpp).
Result<std::unique_ptr<Reader>> open_manifest(std::shared_ptr<InputFile> file, const CodecCatalog& catalog);

// QfSplitConvention hooks: the split keys of file `number` (0-based) of `count`, and the
// manifest text listing every file.
void tag_split_file(Metadata& metadata, uint32_t number, uint32_t count, uint64_t total_tensors);
std::string manifest_text(const std::vector<SplitFile>& files, const CodecCatalog& catalog);

// "model-{:05d}-of-{:05d}.apr" for a shard file named like "model-00001-of-00003.apr"; ""
// for any other name.
std::string pattern_for(const std::string& file_name);

}  // namespace quantflow::apr
